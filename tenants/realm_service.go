package tenants

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// RealmService runs the commands of the projects' native realms and
// authenticates their users. Every command appends to the project's realm
// aggregate with its expected sequence, so two concurrent changes of one
// realm never both win blindly.
type RealmService struct {
	Log    *eventlog.Log
	Realms *Realms
	Wait   eventlog.Waiter
	Now    func() time.Time
	pwOK   passwordCache
}

func (s *RealmService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// decide runs a realm decision with optimistic concurrency and waits until
// the projections hold its event.
func (s *RealmService) decide(ctx context.Context, m domain.Meta, t domain.TenantID, pr domain.ProjectID,
	fn func(r *domain.Realm) (domain.Payload, error)) error {
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		var p domain.Payload
		var seq uint64
		var err error
		s.Realms.View(t, pr, func(r *domain.Realm) {
			p, err = fn(r)
			seq = r.Seq
		})
		if err != nil || p == nil {
			return nil, err
		}
		m.Time = s.now()
		return []eventlog.Append{{Event: event(t, domain.AggRealm, string(pr), m, p), Expect: seq}}, nil
	})
	return err
}

// PutUser creates or replaces a project-local user; password may be empty
// for an existing user. It reports whether the user is new.
func (s *RealmService) PutUser(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID,
	u domain.PutUser, password string) (bool, error) {
	if password != "" {
		if err := domain.CheckPassword(password); err != nil {
			return false, err
		}
		// Hash once, outside the decision: it is slow and salted.
		u.PasswordHash = HashPassword(password)
	}
	created := false
	err := s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		ev, isNew, err := domain.DecidePutUser(p, r, u)
		created = isNew
		return ev, err
	})
	return created, err
}

// DeleteUser removes a project-local user.
func (s *RealmService) DeleteUser(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string) error {
	return s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		return domain.DecideDeleteUser(p, r, name)
	})
}

// PutRole creates or replaces a role; it reports whether the role is new.
func (s *RealmService) PutRole(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string, raw []byte) (bool, error) {
	created := false
	err := s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		ev, isNew, err := domain.DecidePutRole(p, r, name, raw)
		created = isNew
		return ev, err
	})
	return created, err
}

// DeleteRole removes a role.
func (s *RealmService) DeleteRole(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, name string) error {
	return s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		return domain.DecideDeleteRole(p, r, name)
	})
}

// PutPrivileges creates or replaces application privileges.
func (s *RealmService) PutPrivileges(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, raw []byte) (map[string]map[string]bool, error) {
	var created map[string]map[string]bool
	err := s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		ev, c, err := domain.DecidePutPrivileges(p, r, raw)
		created = c
		return ev, err
	})
	return created, err
}

// DeletePrivileges removes privileges of an application; found says which
// existed.
func (s *RealmService) DeletePrivileges(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, pr domain.ProjectID, app string, names []string) (map[string]bool, error) {
	var found map[string]bool
	err := s.decide(ctx, m, t, pr, func(r *domain.Realm) (domain.Payload, error) {
		ev, f, err := domain.DecideDeletePrivileges(p, r, app, names)
		found = f
		return ev, err
	})
	return found, err
}

// Authenticate checks a project-local user's password. known says whether
// the project has a user of that name at all (if not, the caller may try
// the organization's members).
func (s *RealmService) Authenticate(t domain.TenantID, pr domain.ProjectID, name, password string) (p domain.Principal, known bool, err error) {
	u, ok := s.Realms.User(t, pr, name)
	if !ok {
		return domain.Principal{}, false, nil
	}
	if !s.pwOK.check(u.PasswordHash, password) {
		return domain.Principal{}, true, domain.Unauthenticated("unable to authenticate user [%s] for REST request", name)
	}
	p, _, _, ok = s.Realms.Principal(t, pr, name)
	if !ok {
		return domain.Principal{}, true, domain.Unauthenticated("unable to authenticate user [%s]: the user is disabled", name)
	}
	return p, true, nil
}
