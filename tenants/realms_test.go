package tenants

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

func realmEvents() []domain.Event {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rd, _ := domain.ParseRoleDescriptor("r", []byte(`{"cluster": ["manage_own_api_key"], "indices": [{"names": "*", "privileges": ["read"]}]}`))
	var evs []domain.Event
	for i, p := range []domain.Payload{
		esrealm.RealmRolePut{Name: "user_role", Role: rd},
		esrealm.RealmUserPut{Name: "u1", PasswordHash: HashPassword("secret-1"), Roles: []string{"user_role", "missing"}, Enabled: true, Metadata: map[string]any{}},
		esrealm.RealmPrivilegesPut{Privileges: []esrealm.AppPrivilege{{Application: "myapp", Name: "read", Actions: []string{"data:read/*"}}}},
		esrealm.RealmUserPut{Name: "u2", PasswordHash: HashPassword("secret-2"), Enabled: false},
	} {
		pr := domain.ProjectID("p1")
		if i == 3 {
			pr = "p2"
		}
		ev := domain.NewEvent("e", "org1", domain.AggRealm, string(pr), domain.Meta{Time: t0}, p)
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	return evs
}

func TestRealmsFoldAndAnswer(t *testing.T) {
	rs := fold(t, NewRealms(), realmEvents())
	p, roles, missing, ok := rs.Principal("org1", "p1", "u1")
	if !ok || len(roles) != 1 || roles[0] != "user_role" || len(missing) != 1 || !p.PermissionIn("org1").HasCluster("manage_own_api_key") {
		t.Fatalf("u1: %+v %v %v %v", p, roles, missing, ok)
	}
	if _, _, _, ok := rs.Principal("org2", "p1", "u1"); ok {
		t.Fatal("a realm answers for its organization only")
	}
	if _, _, _, ok := rs.Principal("org1", "p2", "u2"); ok {
		t.Fatal("a disabled user has no principal")
	}
	if acts, ok := rs.Resolver("org1", "p1")("myapp", "read"); !ok || acts[0] != "data:read/*" {
		t.Fatal("resolver")
	}
	s := NewLogins(NewDirectory(), rs)
	if _, known, err := s.AuthenticateProjectUser("org1", "p1", "u1", "secret-1"); !known || err != nil {
		t.Fatalf("password: %v %v", known, err)
	}
	if _, known, err := s.AuthenticateProjectUser("org1", "p1", "u1", "wrong"); !known || !domain.IsKind(err, domain.KindUnauthenticated) {
		t.Fatalf("wrong password: %v %v", known, err)
	}
	if _, known, _ := s.AuthenticateProjectUser("org1", "p1", "nobody", "x"); known {
		t.Fatal("unknown users are left to the members")
	}
	bad := domain.NewEvent("e", "org2", domain.AggRealm, "p1", domain.Meta{}, esrealm.RealmUserDeleted{Name: "u1"})
	if err := rs.Apply(bad); err == nil {
		t.Fatal("a realm cannot move to another organization")
	}
}

func TestRealmsSnapshotRestoresTheSameState(t *testing.T) {
	_, restored := foldAndRestore(t, NewRealms, realmEvents())
	if u, ok := restored.User("org1", "p1", "u1"); !ok || !CheckPassword(u.PasswordHash, "secret-1") {
		t.Fatal("the password hash survives a restore")
	}
}
