package tenants

import (
	"encoding/hex"
	"sort"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// Directory is the projection of organizations and users.
type Directory struct {
	mu        sync.RWMutex
	orgs      map[domain.TenantID]*domain.Org
	orgByName map[string]domain.TenantID
	users     map[string]*domain.User
	// nameClaims are organization-name claims: name -> org id.
	nameClaims map[string]domain.TenantID
	// projectOrg finds a project's organization by the project's id, which
	// every Elasticsearch request under /projects/{id} needs.
	projectOrg map[domain.ProjectID]domain.TenantID
	// invitations finds a pending invitation by its token's hash, which is
	// all an invitee brings.
	invitations map[string]invitationRef
	// Quarantine, when set, is what the replica refuses because it could
	// not fold an event about it (projections.Quarantine): the members of
	// a refused organization, and a refused member, have no role here, so
	// that no one acts on a state that may lack the event (a removal).
	Quarantine Refuser
}

type invitationRef struct {
	org domain.TenantID
	id  string
}

// Refuser names the organizations and members a replica refuses.
type Refuser interface {
	RefusesOrg(domain.TenantID) bool
	RefusesMember(name string) bool
}

// refused says whether user has no role in org t here; d.mu is held.
func (d *Directory) refused(t domain.TenantID, user string) bool {
	return d.Quarantine != nil && (d.Quarantine.RefusesOrg(t) || d.Quarantine.RefusesMember(user))
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{orgs: map[domain.TenantID]*domain.Org{}, orgByName: map[string]domain.TenantID{},
		users: map[string]*domain.User{}, nameClaims: map[string]domain.TenantID{}, projectOrg: map[domain.ProjectID]domain.TenantID{},
		invitations: map[string]invitationRef{}}
}

// Apply folds organization and user events.
func (d *Directory) Apply(ev domain.Event) error {
	switch ev.AggType {
	case domain.AggOrg, domain.AggUser, domain.AggOrgName:
	default:
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.AggType {
	case domain.AggOrg:
		id := domain.TenantID(ev.AggID)
		o, ok := d.orgs[id]
		next := domain.Org{}
		if ok {
			next = cloneOrg(o)
		}
		if err := next.Apply(ev); err != nil {
			return err
		}
		d.unindexInvitations(o)
		d.orgs[id] = &next
		d.orgByName[next.Name] = id
		d.indexProjects(&next)
		d.indexInvitations(&next)
	case domain.AggUser:
		var u domain.User
		if prev := d.userByAgg(ev.AggID); prev != nil {
			u = *prev
		}
		if err := u.Apply(ev); err != nil {
			return err
		}
		d.users[u.Name] = &u
	case domain.AggOrgName:
		p, err := ev.Decode()
		if err != nil {
			return err
		}
		c := p.(domain.OrgNameClaimed)
		d.nameClaims[c.Name] = c.OrgID
	}
	return nil
}

// indexProjects adds o's projects to projectOrg. Project ids are UUIDs the
// service draws, so no two organizations share one; were it otherwise, the
// first to hold it keeps it.
func (d *Directory) indexProjects(o *domain.Org) {
	for id := range o.Projects {
		if _, ok := d.projectOrg[id]; !ok {
			d.projectOrg[id] = o.ID
		}
	}
}

// userByAgg finds a login by its aggregate id (the name in hex).
func (d *Directory) userByAgg(aggID string) *domain.User {
	name, err := hex.DecodeString(aggID)
	if err != nil {
		return nil
	}
	return d.users[string(name)]
}

// indexInvitations adds o's invitations to the token index; an organization
// holds a few hundred at most, so re-indexing them on its events is cheap.
func (d *Directory) indexInvitations(o *domain.Org) {
	for id, inv := range o.Invitations {
		d.invitations[inv.TokenHash] = invitationRef{org: o.ID, id: id}
	}
}

func (d *Directory) unindexInvitations(o *domain.Org) {
	if o == nil {
		return
	}
	for _, inv := range o.Invitations {
		delete(d.invitations, inv.TokenHash)
	}
}

// Invitation finds the organization and pending invitation of a token's
// hash. The results are shared and must not be modified.
func (d *Directory) Invitation(tokenHash string) (*domain.Org, *domain.Invitation, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ref, ok := d.invitations[tokenHash]
	if !ok {
		return nil, nil, false
	}
	o := d.orgs[ref.org]
	inv, ok := o.Invitations[ref.id]
	return o, inv, ok
}

// cloneOrg copies o so readers holding the old pointer never see a change.
func cloneOrg(o *domain.Org) domain.Org {
	c := *o
	c.Projects = make(map[domain.ProjectID]*domain.Project, len(o.Projects))
	for k, v := range o.Projects {
		c.Projects[k] = v
	}
	c.Members = make(map[string]domain.Role, len(o.Members))
	for k, v := range o.Members {
		c.Members[k] = v
	}
	c.MemberEmails = make(map[string]string, len(o.MemberEmails))
	for k, v := range o.MemberEmails {
		c.MemberEmails[k] = v
	}
	c.Invitations = make(map[string]*domain.Invitation, len(o.Invitations))
	for k, v := range o.Invitations {
		c.Invitations[k] = v
	}
	c.MemberSince = make(map[string]uint64, len(o.MemberSince))
	for k, v := range o.MemberSince {
		c.MemberSince[k] = v
	}
	return c
}

// Org finds an organization by id or unique name. The result is shared and
// must not be modified.
func (d *Directory) Org(ref string) (*domain.Org, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if o, ok := d.orgs[domain.TenantID(ref)]; ok {
		return o, true
	}
	if id, ok := d.orgByName[ref]; ok {
		return d.orgs[id], true
	}
	return nil, false
}

// Project finds a project of any organization by its id, and that
// organization. The results are shared and must not be modified.
func (d *Directory) Project(id domain.ProjectID) (*domain.Org, *domain.Project, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ok := d.orgs[d.projectOrg[id]]
	if !ok {
		return nil, nil, false
	}
	pr, ok := o.Projects[id]
	return o, pr, ok
}

// Orgs lists the organizations, sorted by name.
func (d *Directory) Orgs() []*domain.Org {
	d.mu.RLock()
	out := make([]*domain.Org, 0, len(d.orgs))
	for _, o := range d.orgs {
		out = append(out, o)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// User finds a user by name.
func (d *Directory) User(name string) (*domain.User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.users[name]
	return u, ok
}

// Member is the principal of a login: a member with its roles by
// organization, read now. Every member principal (a password, a session,
// an access token) is this one.
func (d *Directory) Member(name string) domain.Principal {
	return domain.Principal{Kind: domain.ActorUser, User: name, Memberships: d.Memberships(name)}
}

// Memberships returns a user's role in each organization, but those the
// replica refuses (Quarantine).
func (d *Directory) Memberships(user string) map[domain.TenantID]domain.Role {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := map[domain.TenantID]domain.Role{}
	for id, o := range d.orgs {
		if r, ok := o.Members[user]; ok && !d.refused(id, user) {
			out[id] = r
		}
	}
	return out
}

// RoleOf is user's role in org t, if a member and not refused.
func (d *Directory) RoleOf(t domain.TenantID, user string) (domain.Role, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ok := d.orgs[t]
	if !ok || d.refused(t, user) {
		return "", false
	}
	r, ok := o.Members[user]
	return r, ok
}

// MemberSince is the sequence at which user's current membership of t
// began (domain.Org.MemberSince); ok is false for a non-member.
func (d *Directory) MemberSince(t domain.TenantID, user string) (since uint64, ok bool) {
	_, since, ok = d.Membership(t, user)
	return since, ok
}

// Membership is user's role in t and the sequence its membership began,
// under one read lock (a key's authentication asks both).
func (d *Directory) Membership(t domain.TenantID, user string) (role domain.Role, since uint64, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, found := d.orgs[t]
	if !found {
		return "", 0, false
	}
	if role, ok = o.Members[user]; ok {
		since = o.MemberSince[user]
	}
	return role, since, ok
}

// NameClaim returns the organization that claimed name.
func (d *Directory) NameClaim(name string) (domain.TenantID, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.nameClaims[name]
	return id, ok
}

// OrgNamedLike finds an organization name, claimed or in use, that is
// the same as name after NFKC normalization (domain.SameName). Claims
// made before names were normalized sit on their own subjects, so a
// create looks here too. It normalizes every name: organizations number in
// the thousands (digest.go), and only a create asks.
func (d *Directory) OrgNamedLike(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for n := range d.nameClaims {
		if domain.SameName(n, name) {
			return n, true
		}
	}
	for n := range d.orgByName {
		if domain.SameName(n, name) {
			return n, true
		}
	}
	return "", false
}

// Empty reports whether no organization exists yet.
func (d *Directory) Empty() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.orgs) == 0
}
