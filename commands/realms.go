package commands

import (
	"context"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

// RealmReader is the command side's view of the projects' native realms
// (tenants.Realms): View calls fn with the realm under its lock.
type RealmReader interface {
	View(t domain.TenantID, pr domain.ProjectID, fn func(r *esrealm.Realm))
}

// Realms runs the commands of the projects' native realms: users, roles and
// application privileges. Every command appends to the project's realm
// aggregate with its expected sequence, so two concurrent changes of one
// realm never both win blindly.
type Realms struct {
	core
	realms RealmReader
	hash   func(password string) string
}

// NewRealms returns the realm commands; hash is the password hash
// (tenants.HashPassword).
func NewRealms(d Deps, realms RealmReader, hash func(password string) string) *Realms {
	return &Realms{core: newCore(d), realms: realms, hash: hash}
}

// decide runs a realm decision on the one command path.
func (s *Realms) decide(ctx context.Context, m domain.Meta, t domain.TenantID, pr domain.ProjectID,
	fn func(r *esrealm.Realm) (domain.Payload, error)) error {
	load := func(use func(*esrealm.Realm, where)) error {
		s.realms.View(t, pr, func(r *esrealm.Realm) {
			use(r, where{tenant: t, typ: domain.AggRealm, id: string(pr), seq: r.Seq})
		})
		return nil
	}
	return change(ctx, &s.core, m, load, func(r *esrealm.Realm, _ domain.Meta) (decision, error) {
		p, err := fn(r)
		return decision{event: p}, err
	})
}

// decidePut runs a create-or-replace decision and reports whether it created.
func (s *Realms) decidePut(ctx context.Context, m domain.Meta, t domain.TenantID, pr domain.ProjectID,
	fn func(r *esrealm.Realm) (domain.Payload, bool, error)) (bool, error) {
	created := false
	err := s.decide(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, error) {
		ev, isNew, err := fn(r)
		created = isNew
		return ev, err
	})
	return created, err
}

// PutUser creates or replaces a project-local user; password may be empty
// for an existing user. It reports whether the user is new.
func (s *Realms) PutUser(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID,
	u esrealm.PutUser, password string) (bool, error) {
	if password != "" {
		if err := domain.CheckPassword(password); err != nil {
			return false, err
		}
		// Hash once, outside the decision: it is slow and salted.
		u.PasswordHash = s.hash(password)
	}
	return s.decidePut(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, bool, error) {
		return esrealm.DecidePutUser(p, r, u)
	})
}

// DeleteUser removes a project-local user.
func (s *Realms) DeleteUser(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string) error {
	return s.decide(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, error) {
		return esrealm.DecideDeleteUser(p, r, name)
	})
}

// PutRole creates or replaces a role; it reports whether the role is new.
func (s *Realms) PutRole(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string, raw []byte) (bool, error) {
	return s.decidePut(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, bool, error) {
		return esrealm.DecidePutRole(p, r, name, raw)
	})
}

// DeleteRole removes a role.
func (s *Realms) DeleteRole(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string) error {
	return s.decide(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, error) {
		return esrealm.DecideDeleteRole(p, r, name)
	})
}

// PutPrivileges creates or replaces application privileges.
func (s *Realms) PutPrivileges(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, raw []byte) (map[string]map[string]bool, error) {
	var created map[string]map[string]bool
	err := s.decide(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, error) {
		ev, c, err := esrealm.DecidePutPrivileges(p, r, raw)
		created = c
		return ev, err
	})
	return created, err
}

// DeletePrivileges removes privileges of an application; found says which
// existed.
func (s *Realms) DeletePrivileges(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, app string, names []string) (map[string]bool, error) {
	var found map[string]bool
	err := s.decide(ctx, m, t, pr, func(r *esrealm.Realm) (domain.Payload, error) {
		ev, f, err := esrealm.DecideDeletePrivileges(p, r, app, names)
		found = f
		return ev, err
	})
	return found, err
}
