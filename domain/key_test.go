package domain

import (
	"encoding/json"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ownerOf(t TenantID) Principal {
	return Principal{Kind: ActorUser, User: "alice", Memberships: map[TenantID]Role{t: RoleOwner}}
}

// fold replays events into a key, as the projections do.
func fold(t *testing.T, evs ...Event) Key {
	t.Helper()
	var k Key
	for i, e := range evs {
		e.Seq = uint64(i + 1)
		if err := k.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func TestKeyLifecycleIsAFoldOfDecisions(t *testing.T) {
	p := ownerOf("org1")
	c := CreateKey{Tenant: "org1", Scope: ScopeOrg, Name: "ci", Metadata: map[string]any{"team": "a"}}
	created, err := DecideCreateKey(p, c, "k1", HashSecret([]byte("s")), t0)
	if err != nil {
		t.Fatal(err)
	}
	if created.Expires == nil || !created.Expires.Equal(t0.Add(DefaultKeyLifetime)) {
		t.Fatalf("default expiration = %v, want three months", created.Expires)
	}
	m := Meta{Actor: p.Actor(), Time: t0}
	k := fold(t, NewEvent("e1", "org1", AggKey, "k1", m, created))
	if k.Status(t0) != StatusActive || k.Status(t0.Add(DefaultKeyLifetime)) != StatusExpired {
		t.Fatal("status does not follow the clock")
	}
	md := map[string]any{"team": "b"}
	up, err := DecideUpdateKey(p, &k, UpdateKey{Metadata: &md, RoleDescriptors: json.RawMessage(`{"r":{"cluster":["monitor"]}}`)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	inv, fresh, err := DecideInvalidateKey(p, &k)
	if err != nil || !fresh {
		t.Fatal(err)
	}
	k = fold(t, NewEvent("e1", "org1", AggKey, "k1", m, created), NewEvent("e2", "org1", AggKey, "k1", m, up), NewEvent("e3", "org1", AggKey, "k1", m, inv))
	if k.Metadata["team"] != "b" || len(k.RoleDescriptors) != 1 || k.Status(t0) != StatusInvalidated || k.Seq != 3 {
		t.Fatalf("folded key %+v", k)
	}
	if _, fresh, _ := DecideInvalidateKey(p, &k); fresh {
		t.Fatal("a second invalidation must report previously invalidated")
	}
	if _, err := DecideUpdateKey(p, &k, UpdateKey{Metadata: &md}, t0); !IsKind(err, KindInvalid) {
		t.Fatalf("updating an invalidated key: %v", err)
	}
}

func TestDecideCreateKeyRefuses(t *testing.T) {
	keyP := Principal{Kind: ActorKey, User: "alice", KeyID: "k0", Tenant: "org1", Scope: ScopeOrg,
		Permission: Permission{RolePermission(RoleOwner)}}
	viewer := Principal{Kind: ActorUser, User: "v", Memberships: map[TenantID]Role{"org1": RoleViewer}}
	base := CreateKey{Tenant: "org1", Scope: ScopeOrg, Name: "k"}
	tests := []struct {
		name string
		p    Principal
		mod  func(*CreateKey)
		kind Kind
	}{
		{"another tenant", ownerOf("org2"), nil, KindNotFound},
		{"viewer", viewer, nil, KindForbidden},
		{"empty name", ownerOf("org1"), func(c *CreateKey) { c.Name = "" }, KindInvalid},
		{"control character", ownerOf("org1"), func(c *CreateKey) { c.Name = "a\nb" }, KindInvalid},
		{"bad expiration", ownerOf("org1"), func(c *CreateKey) { c.Expiration = "soon" }, KindInvalid},
		{"reserved metadata", ownerOf("org1"), func(c *CreateKey) { c.Metadata = map[string]any{"_x": 1} }, KindInvalid},
		{"bad type", ownerOf("org1"), func(c *CreateKey) { c.Type = "robot" }, KindInvalid},
		{"project scope without project", ownerOf("org1"), func(c *CreateKey) { c.Scope = ScopeProject }, KindInvalid},
		{"key creating a privileged key", keyP, func(c *CreateKey) { c.RoleDescriptors = json.RawMessage(`{"r":{"cluster":["all"]}}`) }, KindInvalid},
		{"key creating a key without descriptors", keyP, nil, KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			if tt.mod != nil {
				tt.mod(&c)
			}
			_, err := DecideCreateKey(tt.p, c, "id", HashSecret(nil), t0)
			if KindOf(err) != tt.kind || err == nil {
				t.Fatalf("got %v, want kind %v", err, tt.kind)
			}
		})
	}
	c := base
	c.RoleDescriptors = json.RawMessage(`{"none":{}}`)
	ev, err := DecideCreateKey(keyP, c, "id", HashSecret(nil), t0)
	if err != nil || ev.Owner.ByKey != "k0" {
		t.Fatalf("a key may create a key with no privileges: %v %+v", err, ev.Owner)
	}
}

func TestProjectKeyStaysInItsProject(t *testing.T) {
	p := Principal{Kind: ActorKey, User: "alice", KeyID: "k", Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RolePermission(RoleOwner)}}
	if err := p.Authorize(ActionGetKey, Target{Tenant: "org1", Project: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Authorize(ActionGetKey, Target{Tenant: "org1", Project: "p2"}); !IsKind(err, KindNotFound) {
		t.Fatalf("other project: %v", err)
	}
	if err := p.Authorize(ActionGetKey, Target{Tenant: "org1"}); !IsKind(err, KindForbidden) {
		t.Fatalf("org level: %v", err)
	}
	if err := p.Authorize(ActionGetKey, Target{Tenant: "org2", Project: "p1"}); !IsKind(err, KindNotFound) {
		t.Fatalf("other org: %v", err)
	}
}

func TestEventsDecodeAndUnknownIsAnError(t *testing.T) {
	e := NewEvent("id", "t", AggKey, "k", Meta{Time: t0}, KeyInvalidated{Reason: "r"})
	p, err := e.Decode()
	if err != nil || p.(KeyInvalidated).Reason != "r" {
		t.Fatalf("%v %v", p, err)
	}
	e.Type = "Nope"
	if _, err := e.Decode(); err == nil {
		t.Fatal("unknown event types must not decode")
	}
	var k Key
	if err := k.Apply(NewEvent("id", "t", AggOrg, "o", Meta{}, ContactsSet{})); err == nil {
		t.Fatal("a key must refuse an organization event")
	}
}

func TestKeyCreatingForItsMemberMakesTheMembersKeyBoundedByTheCreator(t *testing.T) {
	caller := Principal{Kind: ActorKey, User: "alice", Realm: RealmMembers, KeyID: "k0", Tenant: "org1", Scope: ScopeOrg,
		Permission: Permission{RolePermission(RoleAdmin), RolePermission(RoleOwner)}}
	c := CreateKey{Tenant: "org1", Scope: ScopeOrg, Name: "k", ForMember: true,
		RoleDescriptors: json.RawMessage(`{"admin":{"cluster":["manage_security"]}}`)}
	ev, err := DecideCreateKey(caller, c, "id", HashSecret(nil), t0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Owner != (Owner{User: "alice", Realm: RealmMembers}) {
		t.Fatalf("owner %+v, want the member", ev.Owner)
	}
	if len(ev.LimitedBy) != 1 || ev.LimitedBy[0]["admin"].Cluster[0] != "manage" {
		t.Fatalf("limited by %+v, want the creating key's own set", ev.LimitedBy)
	}
	derived := caller
	derived.Realm = "_es_api_key"
	if _, err := DecideCreateKey(derived, c, "id", HashSecret(nil), t0); !IsKind(err, KindInvalid) {
		t.Fatalf("a derived key creating for a member: %v, want refused", err)
	}
}

func TestKeyCreatingForItsMemberGivesNoLaterEndThanItsOwn(t *testing.T) {
	end := t0.Add(time.Hour)
	caller := Principal{Kind: ActorKey, User: "alice", Realm: RealmMembers, KeyID: "k0", Tenant: "org1", Scope: ScopeOrg,
		Permission: Permission{RolePermission(RoleAdmin)}, Expires: end}
	for _, tc := range []struct {
		expiration string
		refused    bool
	}{{"", false}, {"30m", false}, {"2h", true}, {"90d", true}, {"never", true}} {
		c := CreateKey{Tenant: "org1", Scope: ScopeOrg, Name: "k", ForMember: true, Expiration: tc.expiration, NeverAllowed: true}
		ev, err := DecideCreateKey(caller, c, "id", HashSecret(nil), t0)
		if tc.refused {
			if !IsKind(err, KindInvalid) {
				t.Errorf("expiration %q: %v, want refused (beyond the creating key's end)", tc.expiration, err)
			}
			continue
		}
		if err != nil || ev.Expires == nil || ev.Expires.After(end) {
			t.Errorf("expiration %q: expires %v, %v; want at most the creating key's end %v", tc.expiration, ev.Expires, err, end)
		}
	}
}

// TestAKeyEventBeforeTheKeysCreationIsRefused: a log that updates,
// rotates or invalidates a key it never created is damaged; the fold
// refuses the event rather than make a key of no id, tenant or owner.
func TestAKeyEventBeforeTheKeysCreationIsRefused(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, p := range []Payload{KeyInvalidated{}, KeyUpdated{Metadata: &map[string]any{"a": 1.0}}, KeyRotated{RotatedTo: "k2", Expires: at}} {
		var k Key
		if err := k.Apply(NewEvent("e1", "org1", AggKey, "k1", Meta{Time: at}, p)); KindOf(err) != KindInternal || k.ID != "" || k.Invalidated {
			t.Errorf("%s before the creation: %v, key %+v", p.EventType(), err, k)
		}
	}
}
