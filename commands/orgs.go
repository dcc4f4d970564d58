package commands

import (
	"context"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Directory is the command side's view of organizations and users
// (tenants.Directory).
type Directory interface {
	Org(ref string) (*domain.Org, bool)
	User(name string) (*domain.User, bool)
	// OrgNamedLike is the name of an organization whose name normalizes
	// like name.
	OrgNamedLike(name string) (string, bool)
	// NameClaim is the organization that claimed name.
	NameClaim(name string) (domain.TenantID, bool)
	Empty() bool
	// Invitation is the pending invitation of a token's hash.
	Invitation(tokenHash string) (*domain.Org, *domain.Invitation, bool)
}

// Tenants runs the commands of organizations, their projects, contacts,
// members and invitations, and of the users who log in (their passwords
// and sessions).
type Tenants struct {
	core
	dir  Directory
	hash func(password string) string
}

// NewTenants returns the tenant commands; hash is the password hash
// (tenants.HashPassword).
func NewTenants(d Deps, dir Directory, hash func(password string) string) *Tenants {
	return &Tenants{core: newCore(d), dir: dir, hash: hash}
}

// CreateOrg creates an organization owned by the caller. The name is claimed
// first (create-if-absent), so two organizations never share one.
func (s *Tenants) CreateOrg(ctx context.Context, p domain.Principal, m domain.Meta, name string) (*domain.Org, error) {
	id := s.ids.TenantID()
	created, err := domain.DecideCreateOrg(p, id, name)
	if err != nil {
		return nil, err
	}
	if taken, ok := s.dir.OrgNamedLike(name); ok {
		if taken == name {
			return nil, domain.Conflict("organization [%s] already exists", name)
		}
		// Not naming it: it is most likely another tenant's.
		return nil, domain.Conflict("an organization named like [%s] already exists: names are compared after NFKC normalization", name)
	}
	m.Time = s.now()
	claim := s.event(where{tenant: domain.SystemTenant, typ: domain.AggOrgName, id: domain.OrgNameClaimID(name)}, m, domain.OrgNameClaimed{Name: name, OrgID: id})
	if _, err := s.store.Append(ctx, claim); err != nil {
		if domain.IsKind(err, domain.KindConflict) {
			return nil, domain.Conflict("organization [%s] already exists", name)
		}
		return nil, err
	}
	if _, _, err := s.create(ctx, orgAt(id), m, created); err != nil {
		return nil, err
	}
	o, _ := s.dir.Org(string(id))
	return o, nil
}

func orgAt(id domain.TenantID) where {
	return where{tenant: id, typ: domain.AggOrg, id: string(id)}
}

// loadOrg loads organization ref.
func (s *Tenants) loadOrg(ref string) func(use func(*domain.Org, where)) error {
	return func(use func(*domain.Org, where)) error {
		o, ok := s.dir.Org(ref)
		if !ok {
			return domain.NotFound("organization [%s] not found", ref)
		}
		at := orgAt(o.ID)
		at.seq = o.Seq
		use(o, at)
		return nil
	}
}

// orgCommand runs decide on organization ref, which p must see, on the one
// command path.
func (s *Tenants) orgCommand(ctx context.Context, p domain.Principal, ref string, m domain.Meta,
	decide func(o *domain.Org, m domain.Meta) (decision, error)) error {
	if o, ok := s.dir.Org(ref); !ok || !p.InTenant(o.ID) {
		return domain.NotFound("organization [%s] not found", ref)
	}
	return change(ctx, &s.core, m, s.loadOrg(ref), decide)
}

// CreateProject adds a project to an organization.
func (s *Tenants) CreateProject(ctx context.Context, p domain.Principal, m domain.Meta, org, name string) (*domain.Project, error) {
	id := s.ids.ProjectID()
	err := s.orgCommand(ctx, p, org, m, func(o *domain.Org, _ domain.Meta) (decision, error) {
		ev, err := domain.DecideCreateProject(p, o, id, name)
		return decision{event: ev}, err
	})
	if err != nil {
		return nil, err
	}
	o, _ := s.dir.Org(org)
	return o.Projects[id], nil
}

// SetContacts replaces the organization's operational contacts.
func (s *Tenants) SetContacts(ctx context.Context, p domain.Principal, m domain.Meta, org string, emails []string) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, _ domain.Meta) (decision, error) {
		ev, err := domain.DecideSetContacts(p, o, emails)
		return decision{event: ev}, err
	})
}

// SetKeyPolicy replaces the organization's key policy (owners only).
func (s *Tenants) SetKeyPolicy(ctx context.Context, p domain.Principal, m domain.Meta, org string, c domain.SetKeyPolicy) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, _ domain.Meta) (decision, error) {
		ev, err := domain.DecideSetKeyPolicy(p, o, c)
		return decision{event: ev}, err
	})
}

// Bootstrap makes sure the owner user, organization "default" and project
// "default" exist. Every step is create-if-absent, so it is safe on several
// replicas at once, and it resumes a bootstrap a crash cut short (the
// organization name claimed but the organization not yet written).
// createdUser reports whether this call created the owner's login.
func (s *Tenants) Bootstrap(ctx context.Context, owner, password string) (createdUser bool, err error) {
	m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorSystem, ID: "keyplane", Name: "bootstrap"}, CorrelationID: "bootstrap"}
	if _, ok := s.dir.User(owner); !ok && s.dir.Empty() {
		err := s.CreateUser(ctx, m, NewUser{Name: owner, Password: password})
		if err != nil && !domain.IsKind(err, domain.KindConflict) {
			return false, err
		}
		createdUser = err == nil
	}
	o, ok := s.dir.Org("default")
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
func (s *Tenants) resumeOrg(ctx context.Context, m domain.Meta, name, owner string) (*domain.Org, error) {
	// LastSettled: on a cluster the claim that refused ours may still be in
	// flight right after the refusal.
	claim, err := s.store.LastSettled(ctx, eventlog.SubjectOf(domain.SystemTenant, domain.AggOrgName, domain.OrgNameClaimID(name)))
	if err != nil || claim == nil {
		return nil, domain.E(domain.KindUnavailable, "organization [%s] is claimed but its claim cannot be read", name)
	}
	if err := s.wait.WaitFor(ctx, claim.Seq); err != nil {
		return nil, err
	}
	id, _ := s.dir.NameClaim(name)
	if o, ok := s.dir.Org(string(id)); ok {
		return o, nil
	}
	m.Time = s.now()
	a, _, err := s.create(ctx, orgAt(id), m, domain.OrgCreated{OrgID: id, Name: name, Owner: owner})
	if domain.IsKind(err, domain.KindConflict) {
		// Another replica resumed it first: wait for its organization (if
		// that fails, it did not appear, below).
		_ = s.store.AwaitLast(ctx, s.wait, eventlog.Subject(a.Event))
	} else if err != nil {
		return nil, err
	}
	o, ok := s.dir.Org(string(id))
	if !ok {
		return nil, domain.E(domain.KindUnavailable, "organization [%s] did not appear", name)
	}
	return o, nil
}
