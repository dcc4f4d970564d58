package authn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// The tests of this package run on the real read models, folded from
// domain events built here: two organizations, their members and logins,
// a project user or two, and keys.
const (
	acme, globex = domain.TenantID("t-acme"), domain.TenantID("t-globex")
	p1, p2, q1   = domain.ProjectID("p-one"), domain.ProjectID("p-two"), domain.ProjectID("q-one")
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// hashes are argon2id hashes of the test passwords, made once: each costs
// about 20 ms.
var hashes sync.Map

func hash(pw string) string {
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, _ := hashes.LoadOrStore(pw, tenants.HashPassword(pw))
	return h.(string)
}

// world is a replica's read models and the Authenticator on them.
type world struct {
	t      testing.TB
	seq    uint64
	now    time.Time
	dir    *tenants.Directory
	realms *tenants.Realms
	keys   *projections.Keys
	auth   *projections.AuthIndex
	ended  *projections.EndedSessions
	a      *Authenticator
}

// newWorld folds the starting state: acme (owner ann, admin bob, viewer
// carl) with projects p1 "default" and p2 "second"; globex (owner gus) with
// q1 "default". p1 has the project users jane (role keys, which may
// run as anyone) and kim (no roles); p2 has a jane of its own.
func newWorld(t testing.TB) *world {
	t.Helper()
	table := projections.NewKeyTable()
	w := &world{t: t, now: t0, dir: tenants.NewDirectory(), realms: tenants.NewRealms(),
		keys: projections.NewKeysIn(table), auth: projections.NewAuthIndexIn(table), ended: projections.NewEndedSessions()}
	for _, u := range []string{"ann", "bob", "carl", "gus"} {
		w.login(u, u+"-password")
	}
	w.org(acme, domain.OrgCreated{OrgID: acme, Name: "acme", Owner: "ann"})
	w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleAdmin})
	w.org(acme, domain.MemberAdded{User: "carl", Role: domain.RoleViewer})
	w.org(acme, domain.ProjectCreated{ProjectID: p1, Name: "default"})
	w.org(acme, domain.ProjectCreated{ProjectID: p2, Name: "second"})
	w.org(globex, domain.OrgCreated{OrgID: globex, Name: "globex", Owner: "gus"})
	w.org(globex, domain.ProjectCreated{ProjectID: q1, Name: "default"})
	w.realm(acme, p1, esrealm.RealmRolePut{Name: "keys", Role: domain.RoleDescriptor{
		Cluster: domain.StringList{"manage_own_api_key", "monitor"}, RunAs: domain.StringList{"*"}}})
	w.realm(acme, p1, esrealm.RealmUserPut{Name: "jane", PasswordHash: hash("jane-password"), Roles: []string{"keys"}, Enabled: true})
	w.realm(acme, p1, esrealm.RealmUserPut{Name: "kim", PasswordHash: hash("kim-password"), Roles: []string{}, Enabled: true})
	w.realm(acme, p2, esrealm.RealmRolePut{Name: "keys", Role: domain.RoleDescriptor{Cluster: domain.StringList{"manage_own_api_key"}}})
	w.realm(acme, p2, esrealm.RealmUserPut{Name: "jane", PasswordHash: hash("jane-two-password"), Roles: []string{"keys"}, Enabled: true})
	w.a = New(Config{Secret: []byte("the replicas' shared secret"), Now: func() time.Time { return w.now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dir:    w.dir, Realms: w.realms, Logins: tenants.NewLogins(w.dir, w.realms), Keys: w.keys, Auth: w.auth, Ended: w.ended})
	return w
}

// add folds one event into every read model, at the next sequence.
func (w *world) add(t domain.TenantID, aggType, aggID string, p domain.Payload) {
	w.t.Helper()
	w.seq++
	ev := domain.NewEvent(fmt.Sprint("ev-", w.seq), t, aggType, aggID, domain.Meta{Time: w.now}, p)
	ev.Seq = w.seq
	for _, m := range []interface{ Apply(domain.Event) error }{w.dir, w.realms, w.keys, w.auth, w.ended} {
		if err := m.Apply(ev); err != nil {
			w.t.Fatalf("folding %s: %v", ev.Type, err)
		}
	}
}

func (w *world) org(t domain.TenantID, p domain.Payload) { w.add(t, domain.AggOrg, string(t), p) }
func (w *world) realm(t domain.TenantID, pr domain.ProjectID, p domain.Payload) {
	w.add(t, domain.AggRealm, string(pr), p)
}
func (w *world) user(name string, p domain.Payload) {
	w.add("", domain.AggUser, domain.UserAggID(name), p)
}
func (w *world) login(name, pw string) {
	w.user(name, domain.UserCreated{Name: name, Email: name + "@example.com", PasswordHash: hash(pw)})
}

// key creates a key of owner and returns its ApiKey credential.
func (w *world) key(t domain.TenantID, id string, owner domain.Owner, scope domain.Scope, pr domain.ProjectID) string {
	w.t.Helper()
	var b [17]byte
	copy(b[:], id)
	secret := domain.SecretFrom(b)
	h := domain.HashSecret([]byte(secret))
	w.add(t, domain.AggKey, id, domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: scope, Project: pr,
		Type: domain.KeyPersonal, Owner: owner, Hash: h.String(), RoleDescriptors: domain.RoleDescriptors{}})
	return domain.Encode(domain.KeyID(id), secret)
}

func member(name string) domain.Owner { return domain.Owner{User: name, Realm: domain.RealmMembers} }
func projectUser(name string) domain.Owner {
	return domain.Owner{User: name, Realm: domain.RealmProject}
}

// project is an organization and one of its projects, as the directory
// holds them.
func (w *world) project(pr domain.ProjectID) (*domain.Org, *domain.Project) {
	w.t.Helper()
	o, p, ok := w.dir.Project(pr)
	if !ok {
		w.t.Fatalf("no project %s", pr)
	}
	return o, p
}

func basic(name, pw string) string {
	return "Basic " + b64std(name+":"+pw)
}

var ctx = context.Background()
