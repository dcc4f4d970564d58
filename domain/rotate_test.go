package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// rotatable is a key k1 of org1 created by alice, the organization's
// admin, folded from its create.
func rotatable(t *testing.T, expiration string) (Key, Principal) {
	t.Helper()
	p := Principal{Kind: ActorUser, User: "alice", Memberships: map[TenantID]Role{"org1": RoleAdmin}}
	c := CreateKey{Tenant: "org1", Scope: ScopeProject, Project: "p1", Name: "ci", Expiration: expiration, NeverAllowed: true,
		RoleDescriptors: json.RawMessage(`{"r":{"cluster":["monitor"]}}`), Metadata: map[string]any{"team": "a"}}
	ev, err := DecideCreateKey(p, c, "k1", HashSecret([]byte("s")), t0)
	if err != nil {
		t.Fatal(err)
	}
	return fold(t, NewEvent("e1", "org1", AggKey, "k1", Meta{Actor: p.Actor(), Time: t0}, ev)), p
}

func TestRotationKeepsTheKeyAndEndsTheOldOneAfterTheGrace(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name, expiration, grace string
		wantEnd                 time.Time
	}{
		{"no grace named is a day", "30d", "", now.Add(24 * time.Hour)},
		{"0s ends the old key at once", "30d", "0s", now},
		{"a grace past the old expiry keeps the old expiry", "2d", "7d", t0.Add(48 * time.Hour)},
		{"a key that never expired ends after the grace", "never", "3h", now.Add(3 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, p := rotatable(t, tc.expiration)
			rot, cre, err := DecideRotateKey(p, &k, RotateKey{Grace: tc.grace}, "k2", HashSecret([]byte("s2")), now)
			if err != nil {
				t.Fatal(err)
			}
			if rot.RotatedTo != "k2" || !rot.Expires.Equal(tc.wantEnd) {
				t.Fatalf("rotated %+v, want to k2 ending %v", rot, tc.wantEnd)
			}
			if cre.RotatedFrom != "k1" || cre.Name != k.Name || cre.Scope != k.Scope || cre.Project != k.Project || cre.Type != k.Type ||
				cre.Owner != k.Owner || cre.Metadata["team"] != "a" || len(cre.RoleDescriptors) != 1 {
				t.Fatalf("successor %+v does not keep the key %+v", cre, k)
			}
			if cre.Expires == nil || !cre.Expires.Equal(now.Add(DefaultKeyLifetime)) {
				t.Fatalf("successor expires %v, want a create's default", cre.Expires)
			}
			m := Meta{Time: now}
			old := fold(t, NewEvent("e1", "org1", AggKey, "k1", m, mustCreated(t, k)), NewEvent("e2", "org1", AggKey, "k1", m, rot))
			if old.RotatedTo != "k2" || !old.Expires.Equal(tc.wantEnd) {
				t.Fatalf("folded old key %+v", old)
			}
			succ := fold(t, NewEvent("e3", "org1", AggKey, "k2", m, cre))
			if succ.RotatedFrom != "k1" {
				t.Fatalf("folded successor %+v", succ)
			}
		})
	}
}

// mustCreated is k's creation again, as rotatable decided it.
func mustCreated(t *testing.T, k Key) KeyCreated {
	t.Helper()
	exp := k.Expires
	var e *time.Time
	if !exp.IsZero() {
		e = &exp
	}
	return KeyCreated{KeyID: k.ID, Name: k.Name, Scope: k.Scope, Project: k.Project, Type: k.Type, Owner: k.Owner,
		Hash: k.Hash.String(), Expires: e, RoleDescriptors: k.RoleDescriptors, Metadata: k.Metadata}
}

func TestRotationIsRefusedByOutcome(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		edit func(k *Key, p *Principal, r *RotateKey)
		kind Kind
	}{
		{"an admin who does not own the key is forbidden", func(k *Key, p *Principal, r *RotateKey) { p.User = "bob" }, KindForbidden},
		{"a viewer's own key cannot be rotated by the viewer", func(k *Key, p *Principal, r *RotateKey) {
			p.Memberships["org1"] = RoleViewer
		}, KindForbidden},
		{"another organization's key is not found", func(k *Key, p *Principal, r *RotateKey) {
			p.Memberships = map[TenantID]Role{"org2": RoleOwner}
		}, KindNotFound},
		{"a rotated key conflicts: rotate its successor", func(k *Key, p *Principal, r *RotateKey) { k.RotatedTo = "k0" }, KindConflict},
		{"an invalidated key is invalid", func(k *Key, p *Principal, r *RotateKey) { k.Invalidated = true }, KindInvalid},
		{"an expired key is invalid", func(k *Key, p *Principal, r *RotateKey) { k.Expires = now }, KindInvalid},
		{"a negative grace is invalid", func(k *Key, p *Principal, r *RotateKey) { r.Grace = "-1h" }, KindInvalid},
		{"a grace that is no duration is invalid", func(k *Key, p *Principal, r *RotateKey) { r.Grace = "soon" }, KindInvalid},
		{"a grace over 32 bytes is invalid", func(k *Key, p *Principal, r *RotateKey) { r.Grace = strings.Repeat("1", 33) + "h" }, KindInvalid},
		{"a successor expiration in the past is invalid", func(k *Key, p *Principal, r *RotateKey) {
			r.New.Expiration = "2020-01-01T00:00:00Z"
		}, KindInvalid},
		{"a never-expiring successor where never is not allowed is invalid", func(k *Key, p *Principal, r *RotateKey) {
			r.New.Expiration = "never"
		}, KindInvalid},
		{"a grace past the policy's max_grace is invalid", func(k *Key, p *Principal, r *RotateKey) {
			r.Grace, r.New.Policy = "3d", KeyPolicy{MaxGrace: "2d"}
		}, KindInvalid},
		{"a successor past the policy's max_expiration is invalid", func(k *Key, p *Principal, r *RotateKey) {
			r.New.Expiration, r.New.Policy = "90d", KeyPolicy{MaxExpiration: "60d"}
		}, KindInvalid},
		{"another key of the owner cannot rotate the key", func(k *Key, p *Principal, r *RotateKey) {
			*p = Principal{Kind: ActorKey, User: "alice", KeyID: "k9", Tenant: "org1", Scope: ScopeOrg,
				Permission: Permission{RolePermission(RoleOwner)}}
		}, KindForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, p := rotatable(t, "30d")
			var r RotateKey
			tc.edit(&k, &p, &r)
			_, _, err := DecideRotateKey(p, &k, r, "k2", HashSecret([]byte("s2")), now)
			if !IsKind(err, tc.kind) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestARotatedKeysExpirationCannotChange(t *testing.T) {
	k, p := rotatable(t, "30d")
	k.RotatedTo = "k2"
	for _, exp := range []string{"90d", "1h", "never"} {
		if _, err := DecideUpdateKey(p, &k, UpdateKey{Expiration: &exp, NeverAllowed: true}, t0); !IsKind(err, KindInvalid) {
			t.Fatalf("expiration %s on a rotated key: %v, want invalid", exp, err)
		}
	}
	md := map[string]any{"still": "editable"}
	if _, err := DecideUpdateKey(p, &k, UpdateKey{Metadata: &md}, t0); err != nil {
		t.Fatalf("metadata of a rotated key: %v", err)
	}
}

func TestAKeyMayRotateItself(t *testing.T) {
	k, _ := rotatable(t, "30d")
	self := Principal{Kind: ActorKey, User: "alice", KeyID: "k1", Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RoleDescriptors{"own": {Cluster: StringList{"manage_own_api_key"}}}, RolePermission(RoleAdmin)}}
	_, cre, err := DecideRotateKey(self, &k, RotateKey{Retriable: true}, "k2", HashSecret([]byte("s2")), t0)
	if err != nil {
		t.Fatal(err)
	}
	if cre.Owner != k.Owner {
		t.Fatalf("the successor of a key rotated by itself belongs to %+v, want the key's owner %+v", cre.Owner, k.Owner)
	}
}

func TestARotationWithoutAGraceTakesMaxGraceWhenShorterThanADay(t *testing.T) {
	now := t0.Add(time.Hour)
	k, p := rotatable(t, "30d")
	r := RotateKey{New: CreateKey{Policy: KeyPolicy{MaxGrace: "2h"}}}
	rot, _, err := DecideRotateKey(p, &k, r, "k2", HashSecret([]byte("s2")), now)
	if err != nil {
		t.Fatalf("a rotation naming no grace under max_grace 2h: %v", err)
	}
	if !rot.Expires.Equal(now.Add(2 * time.Hour)) {
		t.Fatalf("old key ends %v, want after max_grace (2h)", rot.Expires)
	}
	r.Grace = "3h" // named: still refused
	if _, _, err := DecideRotateKey(p, &k, r, "k2", HashSecret([]byte("s2")), now); err == nil || !strings.Contains(err.Error(), "max_grace") {
		t.Fatalf("grace 3h past max_grace 2h: %v", err)
	}
}

func TestAKeyRotatingItselfCannotOutliveTheLifetimeItsOwnerGaveIt(t *testing.T) {
	now := t0.Add(time.Hour)
	k, owner := rotatable(t, "2d")
	self := Principal{Kind: ActorKey, KeyID: k.ID, User: "alice", Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RoleDescriptors{"r": {Cluster: StringList{"manage_own_api_key"}}}}}
	for _, tc := range []struct {
		name, expiration string
		p                Principal
		want             time.Time // zero: refused
	}{
		{"the key itself, no expiration: its own lifetime", "", self, now.Add(48 * time.Hour)},
		{"the key itself, within its lifetime", "1d", self, now.Add(24 * time.Hour)},
		{"the key itself, never: refused", "never", self, time.Time{}},
		{"the key itself, past its lifetime: refused", "30d", self, time.Time{}},
		{"its owner: the policy's default", "", owner, now.Add(DefaultKeyLifetime)},
		{"its owner: never", "never", owner, time.Time{}.Add(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RotateKey{New: CreateKey{Expiration: tc.expiration, NeverAllowed: true}, Retriable: true}
			_, cre, err := DecideRotateKey(tc.p, &k, r, "k2", HashSecret([]byte("s2")), now)
			switch {
			case tc.want.IsZero() && err == nil:
				t.Fatalf("successor expires %v, want refused", cre.Expires)
			case tc.want.IsZero():
			case err != nil:
				t.Fatal(err)
			case tc.want.Equal(time.Time{}.Add(1)):
				if cre.Expires != nil {
					t.Fatalf("successor expires %v, want never", cre.Expires)
				}
			case cre.Expires == nil || !cre.Expires.Equal(tc.want):
				t.Fatalf("successor expires %v, want %v", cre.Expires, tc.want)
			}
		})
	}
}

func TestAKeyRotatingItselfMustBeAbleToLearnItsSuccessor(t *testing.T) {
	k, _ := rotatable(t, "30d")
	self := Principal{Kind: ActorKey, User: "alice", KeyID: "k1", Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RoleDescriptors{"own": {Cluster: StringList{"manage_own_api_key"}}}, RolePermission(RoleAdmin)}}
	for _, tc := range []struct {
		name      string
		r         RotateKey
		maxGrace  string
		refusedBy string
	}{
		{"without an Idempotency-Key: refused", RotateKey{Grace: "1h"}, "", "Idempotency-Key"},
		{"with a grace under a minute: refused", RotateKey{Grace: "30s", Retriable: true}, "", "at least 1m"},
		{"ending at once: refused", RotateKey{Grace: "0s", Retriable: true}, "", "at least 1m"},
		{"a grace under a minute where max_grace wants it: rotated", RotateKey{Grace: "0s", Retriable: true}, "0s", ""},
		{"a minute and an Idempotency-Key: rotated", RotateKey{Grace: "1m", Retriable: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.New.Policy.MaxGrace = tc.maxGrace
			_, _, err := DecideRotateKey(self, &k, tc.r, "k2", HashSecret([]byte("s2")), t0)
			switch {
			case tc.refusedBy == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refusedBy != "" && (err == nil || !strings.Contains(err.Error(), tc.refusedBy) || !IsKind(err, KindInvalid)):
				t.Fatalf("got %v, want a 400 naming %q", err, tc.refusedBy)
			}
		})
	}
}
