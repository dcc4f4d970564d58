package tenants

import (
	"sync"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

// Realms is the projection of every project's native realm (the users,
// roles and application privileges of the Elasticsearch surface). Each
// realm is folded in place under the write lock; readers get copies of
// entries, never the maps themselves.
type Realms struct {
	mu     sync.RWMutex
	realms map[domain.ProjectID]*esrealm.Realm
	// Quarantine, when set, refuses the users of an organization whose
	// events the replica could not all fold (Directory.Quarantine).
	Quarantine Refuser
}

// NewRealms returns an empty projection.
func NewRealms() *Realms { return &Realms{realms: map[domain.ProjectID]*esrealm.Realm{}} }

// Apply folds realm events; other aggregates are ignored.
func (rs *Realms) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggRealm {
		return nil
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	pr := domain.ProjectID(ev.AggID)
	r, ok := rs.realms[pr]
	if !ok {
		r = esrealm.NewRealm(ev.Tenant, pr)
	}
	if r.Tenant != ev.Tenant {
		return domain.E(domain.KindInternal, "realm of project %s moved from %s to %s", pr, r.Tenant, ev.Tenant)
	}
	if err := r.Apply(ev); err != nil {
		return err
	}
	rs.realms[pr] = r
	return nil
}

// View runs fn on project pr's realm of tenant t (empty if it has no
// events yet) under the read lock: fn must not keep the realm or anything
// it holds, and must not modify it.
func (rs *Realms) View(t domain.TenantID, pr domain.ProjectID, fn func(*esrealm.Realm)) {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	r, ok := rs.realms[pr]
	if !ok || r.Tenant != t {
		r = esrealm.NewRealm(t, pr)
	}
	fn(r)
}

// User returns a copy of a project-local user.
func (rs *Realms) User(t domain.TenantID, pr domain.ProjectID, name string) (u esrealm.RealmUser, ok bool) {
	rs.View(t, pr, func(r *esrealm.Realm) { u, ok = r.Users[name] })
	return u, ok
}

// Principal returns the principal of an enabled project-local user, with
// the names of its roles that exist and of those that do not. A refused
// organization's users have none (Quarantine).
func (rs *Realms) Principal(t domain.TenantID, pr domain.ProjectID, name string) (p domain.Principal, roles, missing []string, ok bool) {
	if rs.Quarantine != nil && rs.Quarantine.RefusesOrg(t) {
		return p, nil, nil, false
	}
	rs.View(t, pr, func(r *esrealm.Realm) {
		if p, ok = r.UserPrincipal(name); ok {
			set, miss := r.UserRoles(r.Users[name])
			for _, n := range r.Users[name].Roles {
				if _, found := set[n]; found {
					roles = append(roles, n)
				}
			}
			missing = miss
		}
	})
	return p, roles, missing, ok
}

// UserSince is the sequence that created the project user now holding
// name (RealmUser.Since); ok is false if there is none.
func (rs *Realms) UserSince(t domain.TenantID, pr domain.ProjectID, name string) (since uint64, ok bool) {
	rs.View(t, pr, func(r *esrealm.Realm) {
		var u esrealm.RealmUser
		u, ok = r.Users[name]
		since = u.Since
	})
	return since, ok
}

// Resolver resolves application privilege names of one project's realm;
// it takes the read lock on each call.
func (rs *Realms) Resolver(t domain.TenantID, pr domain.ProjectID) domain.PrivilegeResolver {
	return func(app, name string) (acts []string, ok bool) {
		rs.View(t, pr, func(r *esrealm.Realm) { acts, ok = r.PrivilegeActions(app, name) })
		return acts, ok
	}
}
