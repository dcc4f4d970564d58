package esrealm

import (
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// foldRealm replays events into project p1's realm of org1.
func foldRealm(t *testing.T, evs ...domain.Payload) *Realm {
	t.Helper()
	r := NewRealm("org1", "p1")
	for i, p := range evs {
		e := domain.NewEvent("e", "org1", domain.AggRealm, "p1", domain.Meta{Time: t0}, p)
		e.Seq = uint64(i + 1)
		if err := r.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestRealmEventsV1StayReadable(t *testing.T) {
	checkGolden(t, goldenRealmEvents(t))
}

// goldenRealmEvents are the released versions of a realm's events, as
// domain/testdata/events holds them (with every other event's).
func goldenRealmEvents(t *testing.T) []golden {
	rd := mustRDs(t, `{"admin_role": {"cluster": ["manage_api_key"], "indices": [{"names": "*", "privileges": ["all"]}]}}`)["admin_role"]
	rd.TransientMetadata = map[string]any{"enabled": true}
	rd.Metadata, rd.Applications, rd.RunAs = map[string]any{}, []domain.ApplicationPrivileges{}, domain.StringList{}
	return []golden{
		{"RealmUserPut.v1.json", RealmUserPut{Name: "api_key_user", FullName: "API key user", Roles: []string{"admin_role"}, Metadata: map[string]any{}, Enabled: true,
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}},
		{"RealmUserDeleted.v1.json", RealmUserDeleted{Name: "api_key_user"}},
		{"RealmRolePut.v1.json", RealmRolePut{Name: "admin_role", Role: rd}},
		{"RealmRoleDeleted.v1.json", RealmRoleDeleted{Name: "admin_role"}},
		{"RealmPrivilegesPut.v1.json", RealmPrivilegesPut{Privileges: []AppPrivilege{{Application: "myapp", Name: "read", Actions: []string{"data:read/*"}, Metadata: map[string]any{}}}}},
		{"RealmPrivilegesDeleted.v1.json", RealmPrivilegesDeleted{Application: "myapp", Names: []string{"read", "write"}}},
	}
}

func TestRealmIsAFoldOfItsEvents(t *testing.T) {
	role := mustRDs(t, `{"r": {"cluster": ["manage_own_api_key"]}}`)["r"]
	r := foldRealm(t,
		RealmUserPut{Name: "u1", PasswordHash: "h1", Roles: []string{"user_role", "gone"}, Enabled: true},
		RealmRolePut{Name: "user_role", Role: role},
		RealmUserPut{Name: "u1", Roles: []string{"user_role", "gone"}, FullName: "U One", Enabled: true},
		RealmPrivilegesPut{Privileges: []AppPrivilege{{Application: "myapp", Name: "read", Actions: []string{"data:read/*"}}}},
		RealmUserPut{Name: "u2", PasswordHash: "h2", Enabled: false},
	)
	if u := r.Users["u1"]; u.PasswordHash != "h1" || u.FullName != "U One" {
		t.Fatalf("an update without a password keeps it: %+v", u)
	}
	if r.Seq != 5 {
		t.Fatalf("seq %d", r.Seq)
	}
	roles, missing := r.UserRoles(r.Users["u1"])
	if len(roles) != 1 || len(missing) != 1 || missing[0] != "gone" {
		t.Fatalf("roles %v missing %v", roles, missing)
	}
	p, ok := r.UserPrincipal("u1")
	if !ok || !p.PermissionIn("org1").HasCluster("manage_own_api_key") || p.PermissionIn("org2") != nil || !p.InProject("org1", "p1") || p.InProject("org1", "p2") {
		t.Fatalf("principal of u1: %+v", p)
	}
	if _, ok := r.UserPrincipal("u2"); ok {
		t.Fatal("a disabled user has no principal")
	}
	if acts, ok := r.PrivilegeActions("myapp", "read"); !ok || acts[0] != "data:read/*" {
		t.Fatal("privilege actions")
	}
	r2 := foldRealm(t, RealmRolePut{Name: "user_role", Role: role}, RealmRoleDeleted{Name: "user_role"},
		RealmPrivilegesPut{Privileges: []AppPrivilege{{Application: "myapp", Name: "read"}}}, RealmPrivilegesDeleted{Application: "myapp", Names: []string{"read"}})
	if len(r2.Roles) != 0 || len(r2.Privileges) != 0 {
		t.Fatal("deletes")
	}
}

func TestRealmDecisions(t *testing.T) {
	owner := ownerOf("org1")
	r := foldRealm(t, RealmUserPut{Name: "u1", PasswordHash: "h", Enabled: true},
		RealmRolePut{Name: "user_role", Role: mustRDs(t, `{"r": {"cluster": ["manage_own_api_key"]}}`)["r"]})
	user, _ := foldRealm(t, RealmUserPut{Name: "u1", PasswordHash: "h", Roles: []string{"user_role"}, Enabled: true},
		RealmRolePut{Name: "user_role", Role: mustRDs(t, `{"r": {"cluster": ["manage_own_api_key"]}}`)["r"]}).UserPrincipal("u1")
	stranger := domain.Principal{Kind: domain.ActorUser, User: "mallory", Memberships: map[domain.TenantID]domain.Role{"org2": domain.RoleOwner}}
	check := func(name string, err error, kind domain.Kind) {
		t.Helper()
		if kind == domain.KindInternal && err != nil || kind != domain.KindInternal && domain.KindOf(err) != kind {
			t.Errorf("%s: %v, want kind %v", name, err, kind)
		}
	}
	_, created, err := DecidePutUser(owner, r, PutUser{Name: "u2", PasswordHash: "h"})
	check("new user", err, domain.KindInternal)
	if !created {
		t.Error("u2 is new")
	}
	_, created, err = DecidePutUser(owner, r, PutUser{Name: "u1"})
	check("update keeps the password", err, domain.KindInternal)
	if created {
		t.Error("u1 exists")
	}
	_, _, err = DecidePutUser(owner, r, PutUser{Name: "u3"})
	check("new user needs a password", err, domain.KindInvalid)
	_, _, err = DecidePutUser(owner, r, PutUser{Name: "bad name", PasswordHash: "h"})
	check("bad name", err, domain.KindInvalid)
	_, _, err = DecidePutUser(owner, r, PutUser{Name: "u4", PasswordHash: "h", Metadata: map[string]any{"_x": 1}})
	check("reserved metadata", err, domain.KindInvalid)
	_, _, err = DecidePutUser(user, r, PutUser{Name: "u4", PasswordHash: "h"})
	check("manage_own_api_key cannot manage users", err, domain.KindForbidden)
	_, _, err = DecidePutUser(stranger, r, PutUser{Name: "u4", PasswordHash: "h"})
	check("another organization's member", err, domain.KindNotFound)
	_, _, err = DecidePutUser(owner, r, PutUser{Name: "ann", PasswordHash: "h", MemberName: true})
	check("a new user under a member's name", err, domain.KindConflict)
	_, _, err = DecidePutUser(user, r, PutUser{Name: "ann", PasswordHash: "h", MemberName: true})
	check("a caller who may not put users learns nothing of members' names", err, domain.KindForbidden)
	_, _, err = DecidePutUser(owner, r, PutUser{Name: "u1", MemberName: true})
	check("a user made before the member joined may still be updated", err, domain.KindInternal)
	_, err = DecideDeleteUser(owner, r, "nobody")
	check("delete unknown user", err, domain.KindNotFound)
	_, _, err = DecidePutRole(owner, r, "superuser", []byte(`{}`))
	check("reserved role", err, domain.KindInvalid)
	_, _, err = DecidePutRole(owner, r, "r", []byte(`{"cluster": ["fly"]}`))
	check("unknown privilege", err, domain.KindInvalid)
	_, created, err = DecidePutRole(owner, r, "user_role", []byte(`{"cluster": ["all"]}`))
	check("replace role", err, domain.KindInternal)
	if created {
		t.Error("user_role exists")
	}
	_, err = DecideDeleteRole(owner, r, "nope")
	check("delete unknown role", err, domain.KindNotFound)
	ev, made, err := DecidePutPrivileges(owner, r, []byte(`{"myapp": {"read": {"actions": ["data:read/*"]}}}`))
	check("put privileges", err, domain.KindInternal)
	if len(ev.Privileges) != 1 || !made["myapp"]["read"] {
		t.Errorf("privileges %+v %v", ev, made)
	}
	for _, body := range []string{`{"MyApp": {"read": {"actions": ["a/b"]}}}`, `{"myapp": {"read": {"actions": ["nope"]}}}`,
		`{"myapp": {"read": {"actions": []}}}`, `{"myapp": {"read": {"application": "other", "actions": ["a/b"]}}}`, `[]`} {
		_, _, err = DecidePutPrivileges(owner, r, []byte(body))
		check(body, err, domain.KindInvalid)
	}
	_, _, err = DecideDeletePrivileges(owner, r, "myapp", []string{"read"})
	check("delete unknown privilege", err, domain.KindNotFound)
}

func TestElasticsearchCreateAndUpdateSnapshotTheOwner(t *testing.T) {
	r := foldRealm(t, RealmUserPut{Name: "u1", PasswordHash: "h", Roles: []string{"user_role"}, Enabled: true},
		RealmRolePut{Name: "user_role", Role: mustRDs(t, `{"r": {"cluster": ["manage_own_api_key"]}}`)["r"]},
		RealmUserPut{Name: "target", PasswordHash: "h", Enabled: true},
		RealmUserPut{Name: "granter", PasswordHash: "h", Roles: []string{"superuser"}, Enabled: true})
	u1, _ := r.UserPrincipal("u1")
	c := domain.CreateKey{Tenant: "org1", Scope: domain.ScopeProject, Project: "p1", Name: "k", DefaultNever: true, SnapshotLimits: true, NeverAllowed: true}
	ev, err := domain.DecideCreateKey(u1, c, "k1", domain.HashSecret([]byte("s")), t0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Expires != nil || ev.Owner.Realm != domain.RealmProject || len(ev.LimitedBy) != 1 || ev.LimitedBy[0]["user_role"].Cluster[0] != "manage_own_api_key" {
		t.Fatalf("created %+v", ev)
	}
	k := fold(t, domain.NewEvent("e1", "org1", domain.AggKey, "k1", domain.Meta{Time: t0}, ev))
	up, err := domain.DecideUpdateKey(u1, &k, domain.UpdateKey{SnapshotLimits: true}, t0)
	if err != nil || !up.Noop(&k) {
		t.Fatalf("same owner permission is a no-op: %v %+v", err, up)
	}
	u1.Permission = domain.Permission{mustRDs(t, `{"user_role": {"cluster": ["all"]}}`)}
	up, _ = domain.DecideUpdateKey(u1, &k, domain.UpdateKey{SnapshotLimits: true}, t0)
	if up.Noop(&k) {
		t.Fatal("a changed owner permission is an update")
	}
	k = fold(t, domain.NewEvent("e1", "org1", domain.AggKey, "k1", domain.Meta{Time: t0}, ev), domain.NewEvent("e2", "org1", domain.AggKey, "k1", domain.Meta{Time: t0}, up))
	if k.LimitedBy[0]["user_role"].Cluster[0] != "all" {
		t.Fatalf("limited_by not refreshed: %+v", k.LimitedBy)
	}

	// A grant: the target needs no privilege, the granter needs grant_api_key.
	target, _ := r.UserPrincipal("target")
	granter, _ := r.UserPrincipal("granter")
	if _, err := domain.DecideCreateKey(target, c, "k2", domain.HashSecret([]byte("s")), t0); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("target cannot create for itself: %v", err)
	}
	u1, _ = r.UserPrincipal("u1")
	c.GrantedBy = &u1
	if _, err := domain.DecideCreateKey(target, c, "k2", domain.HashSecret([]byte("s")), t0); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("manage_own_api_key does not grant: %v", err)
	}
	c.GrantedBy = &granter
	ev, err = domain.DecideCreateKey(target, c, "k2", domain.HashSecret([]byte("s")), t0)
	if err != nil || ev.Owner.User != "target" {
		t.Fatalf("grant: %v %+v", err, ev)
	}
	c.Project = "p2"
	if _, err := domain.DecideCreateKey(target, c, "k3", domain.HashSecret([]byte("s")), t0); domain.KindOf(err) == domain.KindInternal {
		t.Fatal("a grant into another project must fail")
	}
	if !strings.Contains(jsonOf(t, ev), `"realm":"default_native"`) {
		t.Fatal("owner realm")
	}
}
