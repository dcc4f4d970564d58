package domain

import (
	"strings"
	"testing"
	"time"
)

var policyNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func days(n int) time.Time { return policyNow.Add(time.Duration(n) * 24 * time.Hour) }

func TestPolicyExpirationTakesDefaultsAndRefusesPastTheLimits(t *testing.T) {
	strict := KeyPolicy{DefaultExpiration: "30d", MaxExpiration: "365d", AllowNever: new(false)}
	capped := KeyPolicy{MaxExpiration: "7d"}
	noNever := KeyPolicy{AllowNever: new(false)}
	tests := []struct {
		name        string
		pol         KeyPolicy
		requested   string
		surface     Surface
		serverNever bool
		want        time.Time // zero: never
		err         string    // a part of the refusal's reason
	}{
		{name: "no policy, console default is three months", requested: "", serverNever: true, want: days(90)},
		{name: "no policy, Elasticsearch default is never", surface: SurfaceElasticsearch, serverNever: true},
		{name: "no policy, never allowed", requested: "never", serverNever: true},
		{name: "no policy, two years allowed", requested: "730d", serverNever: true, want: days(730)},
		{name: "policy default applies on the console", pol: strict, serverNever: true, want: days(30)},
		{name: "policy default applies on Elasticsearch", pol: strict, surface: SurfaceElasticsearch, serverNever: true, want: days(30)},
		{name: "beyond the maximum is refused", pol: strict, requested: "366d", serverNever: true, err: "maximum of [365d] (max_expiration)"},
		{name: "an absolute time beyond the maximum is refused", pol: strict, requested: "2028-12-06T12:00:00Z", serverNever: true, err: "max_expiration"},
		{name: "the maximum itself is allowed", pol: strict, requested: "1y", serverNever: true, want: days(365)},
		{name: "never refused by the policy", pol: strict, requested: "never", serverNever: true, err: "allow_never: false"},
		{name: "never refused by the server", requested: "never", serverNever: false, err: "--allow-never-expiring=false"},
		{name: "the server's ceiling is asked first", pol: strict, requested: "NEVER", err: "--allow-never-expiring=false"},
		{name: "Elasticsearch default without never is three months", pol: noNever, surface: SurfaceElasticsearch, serverNever: true, want: days(90)},
		{name: "Elasticsearch default under a server without never is three months", surface: SurfaceElasticsearch, want: days(90)},
		{name: "a default beyond the maximum becomes the maximum", pol: capped, serverNever: true, want: days(7)},
		{name: "with a maximum, Elasticsearch's default is bounded too", pol: capped, surface: SurfaceElasticsearch, serverNever: true, want: days(7)},
		{name: "a default of never", pol: KeyPolicy{DefaultExpiration: "never"}, serverNever: true},
		{name: "a bad expiration is still refused", pol: strict, requested: "soon", serverNever: true, err: "failed to parse expiration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.pol.Expiration(tt.requested, policyNow, tt.surface, tt.serverNever)
			if tt.err != "" {
				if !IsKind(err, KindInvalid) || !strings.Contains(ReasonOf(err), tt.err) {
					t.Fatalf("err %v, want invalid naming %q", err, tt.err)
				}
				return
			}
			if err != nil || !e.At.Equal(tt.want) {
				t.Fatalf("got %v %v, want %v", e.At, err, tt.want)
			}
		})
	}
}

func TestOnlyOwnersSetTheKeyPolicyAndEveryBoundIsChecked(t *testing.T) {
	o := &Org{ID: "o1", Members: map[string]Role{"ann": RoleOwner, "bob": RoleAdmin}}
	owner := Principal{Kind: ActorUser, User: "ann", Memberships: map[TenantID]Role{"o1": RoleOwner}}
	admin := Principal{Kind: ActorUser, User: "bob", Memberships: map[TenantID]Role{"o1": RoleAdmin}}
	stranger := Principal{Kind: ActorUser, User: "eve", Memberships: map[TenantID]Role{"o2": RoleOwner}}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	tests := []struct {
		name string
		p    Principal
		c    SetKeyPolicy
		kind Kind
		err  string
	}{
		{name: "owner sets the issue's example", p: owner, c: SetKeyPolicy{DefaultExpiration: str("90d"), MaxExpiration: str("365d"),
			AllowNever: new(false), MaxActiveKeys: num(500), MaxGrace: str("7d"), ServerNever: true}},
		{name: "owner unsets everything", p: owner, c: SetKeyPolicy{ServerNever: true}},
		{name: "an admin may not", p: admin, c: SetKeyPolicy{ServerNever: true}, kind: KindForbidden},
		{name: "another organization's owner finds nothing", p: stranger, c: SetKeyPolicy{ServerNever: true}, kind: KindNotFound},
		{name: "default beyond maximum", p: owner, c: SetKeyPolicy{DefaultExpiration: str("400d"), MaxExpiration: str("365d")}, kind: KindInvalid, err: "beyond [max_expiration]"},
		{name: "default under an hour", p: owner, c: SetKeyPolicy{DefaultExpiration: str("30m")}, kind: KindInvalid, err: "[default_expiration] must be"},
		{name: "maximum past 100 years", p: owner, c: SetKeyPolicy{MaxExpiration: str("101y")}, kind: KindInvalid, err: "[max_expiration] must be"},
		{name: "maximum of never", p: owner, c: SetKeyPolicy{MaxExpiration: str("never")}, kind: KindInvalid, err: "[max_expiration] must be"},
		{name: "an absolute time is no default", p: owner, c: SetKeyPolicy{DefaultExpiration: str("2027-01-01T00:00:00Z")}, kind: KindInvalid, err: "[default_expiration] must be"},
		{name: "default never where never is refused", p: owner, c: SetKeyPolicy{DefaultExpiration: str("never"), AllowNever: new(false), ServerNever: true}, kind: KindInvalid, err: "cannot be never"},
		{name: "default never on a server without never", p: owner, c: SetKeyPolicy{DefaultExpiration: str("never")}, kind: KindInvalid, err: "cannot be never"},
		{name: "allow_never above the server's ceiling", p: owner, c: SetKeyPolicy{AllowNever: new(true)}, kind: KindInvalid, err: "--allow-never-expiring=false"},
		{name: "no keys at all", p: owner, c: SetKeyPolicy{MaxActiveKeys: num(0)}, kind: KindInvalid, err: "[max_active_keys] must be an integer from 1 to 1000000"},
		{name: "too many keys", p: owner, c: SetKeyPolicy{MaxActiveKeys: num(MaxPolicyActiveKeys + 1)}, kind: KindInvalid, err: "[max_active_keys]"},
		{name: "negative grace", p: owner, c: SetKeyPolicy{MaxGrace: str("-1h")}, kind: KindInvalid, err: "[max_grace]"},
		{name: "grace past a year", p: owner, c: SetKeyPolicy{MaxGrace: str("366d")}, kind: KindInvalid, err: "[max_grace]"},
		{name: "zero grace", p: owner, c: SetKeyPolicy{MaxGrace: str("0s")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecideSetKeyPolicy(tt.p, o, tt.c)
			if tt.kind == KindInternal {
				if err != nil {
					t.Fatal(err)
				}
				var folded Org
				folded.Apply(NewEvent("e", "o1", AggOrg, "o1", Meta{}, OrgCreated{OrgID: "o1", Owner: "ann"}))
				if err := folded.Apply(NewEvent("e2", "o1", AggOrg, "o1", Meta{}, ev)); err != nil || jsonOf(t, folded.Policy) != jsonOf(t, ev.Policy()) {
					t.Fatalf("folded %v %v, want %v", folded.Policy, err, ev)
				}
				return
			}
			if !IsKind(err, tt.kind) || !strings.Contains(ReasonOf(err), tt.err) {
				t.Fatalf("err %v, want %v naming %q", err, tt.kind, tt.err)
			}
		})
	}
}

func TestKeysBeyondAStricterPolicyAreMarkedNotEnded(t *testing.T) {
	strict := KeyPolicy{MaxExpiration: "30d", AllowNever: new(false)}
	tests := []struct {
		name string
		pol  KeyPolicy
		key  Key
		want bool
	}{
		{name: "never-expiring under allow_never false", pol: strict, key: Key{}, want: true},
		{name: "never-expiring without a policy", key: Key{}, want: false},
		{name: "a year left under a 30-day maximum", pol: strict, key: Key{Expires: days(365)}, want: true},
		{name: "exactly the maximum left", pol: strict, key: Key{Expires: days(30)}, want: false},
		{name: "revoked keys exceed nothing", pol: strict, key: Key{Invalidated: true}, want: false},
		{name: "expired keys exceed nothing", pol: strict, key: Key{Expires: days(-1)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pol.Exceeds(&tt.key, policyNow); got != tt.want {
				t.Fatalf("Exceeds = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestACreatePastMaxActiveKeysIsAConflictNamingTheLimit(t *testing.T) {
	pol := KeyPolicy{MaxActiveKeys: 2}
	if err := pol.CheckActiveKeys(1, 1); err != nil {
		t.Fatal(err)
	}
	err := pol.CheckActiveKeys(2, 1)
	if !IsKind(err, KindConflict) || !strings.Contains(ReasonOf(err), "at most 2 (max_active_keys)") {
		t.Fatalf("err %v", err)
	}
	if err := (KeyPolicy{}).CheckActiveKeys(1_000_000, 1); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}

func TestAGraceBeyondMaxGraceIsRefused(t *testing.T) {
	pol := KeyPolicy{MaxGrace: "7d"}
	if err := pol.CheckGrace(7 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	err := pol.CheckGrace(8 * 24 * time.Hour)
	if !IsKind(err, KindInvalid) || !strings.Contains(ReasonOf(err), "grace [8d] is beyond the organization's maximum of [7d] (max_grace)") {
		t.Fatalf("err %v", err)
	}
	if err := (KeyPolicy{}).CheckGrace(1000 * 24 * time.Hour); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}

func TestDecideCreateKeyKeepsToThePolicy(t *testing.T) {
	owner := Principal{Kind: ActorUser, User: "ann", Memberships: map[TenantID]Role{"o1": RoleOwner}}
	pol := KeyPolicy{DefaultExpiration: "30d", MaxExpiration: "60d", MaxActiveKeys: 3}
	c := CreateKey{Tenant: "o1", Scope: ScopeOrg, Name: "k", Policy: pol, ActiveKeys: 2, NeverAllowed: true}
	ev, err := DecideCreateKey(owner, c, "k1", HashSecret([]byte("s")), policyNow)
	if err != nil || ev.Expires == nil || !ev.Expires.Equal(days(30)) {
		t.Fatalf("%v %v", ev.Expires, err)
	}
	c.ActiveKeys = 3
	if _, err := DecideCreateKey(owner, c, "k1", HashSecret([]byte("s")), policyNow); !IsKind(err, KindConflict) {
		t.Fatalf("past max_active_keys: %v", err)
	}
	c.ActiveKeys, c.Expiration = 0, "90d"
	if _, err := DecideCreateKey(owner, c, "k1", HashSecret([]byte("s")), policyNow); !IsKind(err, KindInvalid) {
		t.Fatalf("past max_expiration: %v", err)
	}
	k := Key{ID: "k1", Tenant: "o1", Scope: ScopeOrg, Owner: Owner{User: "ann", Realm: RealmMembers}, Expires: days(10)}
	ninety := "90d"
	if _, err := DecideUpdateKey(owner, &k, UpdateKey{Expiration: &ninety, Policy: pol, NeverAllowed: true}, policyNow); !IsKind(err, KindInvalid) {
		t.Fatalf("update past max_expiration: %v", err)
	}
	meta := map[string]any{"a": "b"}
	if _, err := DecideUpdateKey(owner, &k, UpdateKey{Metadata: &meta, Policy: KeyPolicy{MaxExpiration: "1d"}}, policyNow); err != nil {
		t.Fatalf("an update that leaves the expiration alone: %v", err)
	}
}

func TestDefaultOnSaysWhatAKeyWithoutExpirationGets(t *testing.T) {
	for _, tt := range []struct {
		pol             KeyPolicy
		never           bool
		console, search string
	}{
		{KeyPolicy{}, true, "90d", "never"},
		{KeyPolicy{}, false, "90d", "90d"},
		{KeyPolicy{DefaultExpiration: "30d"}, true, "30d", "30d"},
		{KeyPolicy{MaxExpiration: "7d"}, true, "7d", "7d"},
		{KeyPolicy{AllowNever: new(false)}, true, "90d", "90d"},
	} {
		if c, s := tt.pol.DefaultOn(SurfaceConsole, tt.never), tt.pol.DefaultOn(SurfaceElasticsearch, tt.never); c != tt.console || s != tt.search {
			t.Errorf("%+v: %s %s, want %s %s", tt.pol, c, s, tt.console, tt.search)
		}
	}
}
