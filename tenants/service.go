package tenants

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Service runs tenant commands against the log.
type Service struct {
	Log  *eventlog.Log
	Dir  *Directory
	Wait eventlog.Waiter
	Now  func() time.Time
	pwOK passwordCache
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func event(t domain.TenantID, aggType, aggID string, m domain.Meta, p domain.Payload) domain.Event {
	return domain.NewEvent(uuid.NewString(), t, aggType, aggID, m, p)
}

// Authenticate checks a member's name and password. A login an owner forced
// to reset its password is refused (403) until it changes it.
func (s *Service) Authenticate(name, password string) (domain.Principal, error) {
	p, err := s.AuthenticateForPasswordChange(name, password)
	if err == nil {
		if u, ok := s.Dir.User(name); ok && u.MustChangePassword {
			return domain.Principal{}, ErrMustChangePassword(name)
		}
	}
	return p, err
}

// ErrMustChangePassword is the answer to a login under a forced reset.
func ErrMustChangePassword(name string) error {
	return domain.Forbidden("user [%s] must change its password first: PUT /api/v1/users/_password {\"current_password\",\"password\"}", name)
}

// AuthenticateForPasswordChange checks a name and password, also for a
// login under a forced reset: the password change is what it may do.
func (s *Service) AuthenticateForPasswordChange(name, password string) (domain.Principal, error) {
	u, ok := s.Dir.User(name)
	if !ok || !s.pwOK.check(u.PasswordHash, password) {
		if !ok {
			// Spend the same time as a real check so that names cannot be probed.
			s.pwOK.check(dummyHash, password)
		}
		return domain.Principal{}, domain.Unauthenticated("unable to authenticate user [%s]", name)
	}
	return domain.Principal{Kind: domain.ActorUser, User: name, Memberships: s.Dir.Memberships(name)}, nil
}

var dummyHash = HashPassword("keyplane-dummy-password")

// SpendCheck costs what a password check costs and checks nothing: a name
// that cannot be here is answered as slowly as one that can.
func (s *Service) SpendCheck(password string) { CheckPassword(dummyHash, password) }

// NewUser describes a login to create.
type NewUser struct {
	Name, Email, FullName, Password string
}

// CreateUser creates a login; its name is claimed with create-if-absent.
func (s *Service) CreateUser(ctx context.Context, m domain.Meta, u NewUser) error {
	if !domain.ValidUserName(u.Name) {
		return domain.Invalid("user name must be 1 to 64 letters, digits or ._@+-")
	}
	if err := validPassword(u.Password); err != nil {
		return err
	}
	if u.Email != "" {
		if _, err := domain.ParseEmail(u.Email); err != nil {
			return err
		}
	}
	m.Time = s.now()
	ev := event(domain.SystemTenant, domain.AggUser, domain.UserAggID(u.Name), m,
		domain.UserCreated{Name: u.Name, Email: u.Email, FullName: u.FullName, PasswordHash: HashPassword(u.Password)})
	_, err := s.Log.Commit(ctx, s.Wait, eventlog.Append{Event: ev, Expect: 0})
	if domain.IsKind(err, domain.KindConflict) {
		return domain.Conflict("user [%s] already exists", u.Name)
	}
	return err
}

// CreateOrg creates an organization owned by the caller. The name is claimed
// first (create-if-absent), so two organizations never share one.
func (s *Service) CreateOrg(ctx context.Context, p domain.Principal, m domain.Meta, name string) (*domain.Org, error) {
	id := commands.RandomIDs{}.TenantID()
	created, err := domain.DecideCreateOrg(p, id, name)
	if err != nil {
		return nil, err
	}
	if taken, ok := s.Dir.OrgNamedLike(name); ok {
		if taken == name {
			return nil, domain.Conflict("organization [%s] already exists", name)
		}
		return nil, domain.Conflict("organization [%s] already exists as [%s]: names are compared after NFKC normalization", name, taken)
	}
	m.Time = s.now()
	claim := event(domain.SystemTenant, domain.AggOrgName, domain.OrgNameClaimID(name), m, domain.OrgNameClaimed{Name: name, OrgID: id})
	if _, err := s.Log.Append(ctx, eventlog.Append{Event: claim, Expect: 0}); err != nil {
		if domain.IsKind(err, domain.KindConflict) {
			return nil, domain.Conflict("organization [%s] already exists", name)
		}
		return nil, err
	}
	ev := event(id, domain.AggOrg, string(id), m, created)
	if _, err := s.Log.Commit(ctx, s.Wait, eventlog.Append{Event: ev, Expect: 0}); err != nil {
		return nil, err
	}
	o, _ := s.Dir.Org(string(id))
	return o, nil
}

// onOrg runs a decision on organization ref with optimistic concurrency.
func (s *Service) onOrg(ctx context.Context, ref string, m domain.Meta, decide func(*domain.Org) (domain.Payload, error)) error {
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		o, ok := s.Dir.Org(ref)
		if !ok {
			return nil, domain.NotFound("organization [%s] not found", ref)
		}
		p, err := decide(o)
		if err != nil || p == nil {
			return nil, err
		}
		m.Time = s.now()
		return []eventlog.Append{{Event: event(o.ID, domain.AggOrg, string(o.ID), m, p), Expect: o.Seq}}, nil
	})
	return err
}

// CreateProject adds a project to an organization.
func (s *Service) CreateProject(ctx context.Context, p domain.Principal, m domain.Meta, org, name string) (*domain.Project, error) {
	if o, ok := s.Dir.Org(org); !ok || !p.InTenant(o.ID) {
		return nil, domain.NotFound("organization [%s] not found", org)
	}
	id := commands.RandomIDs{}.ProjectID()
	err := s.onOrg(ctx, org, m, func(o *domain.Org) (domain.Payload, error) {
		return domain.DecideCreateProject(p, o, id, name)
	})
	if err != nil {
		return nil, err
	}
	o, _ := s.Dir.Org(org)
	return o.Projects[id], nil
}

// SetContacts replaces the organization's operational contacts.
func (s *Service) SetContacts(ctx context.Context, p domain.Principal, m domain.Meta, org string, emails []string) error {
	if o, ok := s.Dir.Org(org); !ok || !p.InTenant(o.ID) {
		return domain.NotFound("organization [%s] not found", org)
	}
	return s.onOrg(ctx, org, m, func(o *domain.Org) (domain.Payload, error) {
		return domain.DecideSetContacts(p, o, emails)
	})
}

// Bootstrap makes sure the owner user, organization "default" and project
// "default" exist. Every step is create-if-absent, so it is safe on several
// replicas at once, and it resumes a bootstrap a crash cut short (the
// organization name claimed but the organization not yet written).
// createdUser reports whether this call created the owner's login.
func (s *Service) Bootstrap(ctx context.Context, owner, password string) (createdUser bool, err error) {
	m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorSystem, ID: "keyplane", Name: "bootstrap"}, CorrelationID: "bootstrap"}
	if _, ok := s.Dir.User(owner); !ok && s.Dir.Empty() {
		err := s.CreateUser(ctx, m, NewUser{Name: owner, Password: password})
		if err != nil && !domain.IsKind(err, domain.KindConflict) {
			return false, err
		}
		createdUser = err == nil
	}
	o, ok := s.Dir.Org("default")
	if !ok {
		p := domain.Principal{Kind: domain.ActorUser, User: owner}
		o, err = s.CreateOrg(ctx, p, m, "default")
		if domain.IsKind(err, domain.KindConflict) {
			o, err = s.resumeOrg(ctx, m, "default", owner)
		}
		if err != nil {
			return createdUser, err
		}
	}
	if _, ok := o.ProjectNamed("default"); !ok {
		sys := domain.Principal{Kind: domain.ActorSystem}
		if _, err := s.CreateProject(ctx, sys, m, string(o.ID), "default"); err != nil && !domain.IsKind(err, domain.KindConflict) {
			return createdUser, err
		}
	}
	return createdUser, nil
}

// resumeOrg finishes an organization whose name was claimed but which was
// never written, under the claimed id; it waits for one that is.
func (s *Service) resumeOrg(ctx context.Context, m domain.Meta, name, owner string) (*domain.Org, error) {
	// LastSettled: on a cluster the claim that refused ours may still be in
	// flight right after the refusal.
	claim, err := s.Log.LastSettled(ctx, eventlog.SubjectOf(domain.SystemTenant, domain.AggOrgName, domain.OrgNameClaimID(name)))
	if err != nil || claim == nil {
		return nil, domain.E(domain.KindUnavailable, "organization [%s] is claimed but its claim cannot be read", name)
	}
	if err := s.Wait.WaitFor(ctx, claim.Seq); err != nil {
		return nil, err
	}
	id, _ := s.Dir.NameClaim(name)
	if o, ok := s.Dir.Org(string(id)); ok {
		return o, nil
	}
	m.Time = s.now()
	ev := event(id, domain.AggOrg, string(id), m, domain.OrgCreated{OrgID: id, Name: name, Owner: owner})
	_, err = s.Log.Commit(ctx, s.Wait, eventlog.Append{Event: ev, Expect: 0})
	if domain.IsKind(err, domain.KindConflict) {
		// Another replica resumed it first: wait for its organization (if
		// that fails, it did not appear, below).
		_ = s.Log.AwaitLast(ctx, s.Wait, eventlog.Subject(ev))
	} else if err != nil {
		return nil, err
	}
	o, ok := s.Dir.Org(string(id))
	if !ok {
		return nil, domain.E(domain.KindUnavailable, "organization [%s] did not appear", name)
	}
	return o, nil
}
