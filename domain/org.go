package domain

import (
	"encoding/hex"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// Project is a project inside an organization.
type Project struct {
	ID      ProjectID
	Name    string
	Created time.Time
}

// Org is the organization aggregate: its projects, members and contacts.
type Org struct {
	ID       TenantID
	Name     string
	Created  time.Time
	Projects map[ProjectID]*Project
	Members  map[string]Role
	// MemberEmails are the addresses members were invited at: what the
	// organization knows of them (a login's own email is not its to see).
	MemberEmails map[string]string
	// Invitations are the pending ones (and expired ones not yet pruned).
	Invitations map[string]*Invitation
	// MemberSince is the stream sequence at which each member's current
	// membership began. A member removed and invited back is a new
	// membership: keys and tokens from before the removal stay without
	// privileges (their creation is older).
	MemberSince map[string]uint64
	Contacts    []string
	// Policy is the organization's key policy (KeyPolicySet); the zero
	// value is none, and leaves snapshots without it as they were.
	Policy KeyPolicy `json:"Policy,omitzero"`
	Seq    uint64
}

// Apply folds one organization event.
func (o *Org) Apply(e Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	switch ev := p.(type) {
	case OrgCreated:
		*o = Org{ID: ev.OrgID, Name: ev.Name, Created: e.Time, Projects: map[ProjectID]*Project{},
			Members: map[string]Role{ev.Owner: RoleOwner}, MemberEmails: map[string]string{}, Invitations: map[string]*Invitation{},
			MemberSince: map[string]uint64{ev.Owner: e.Seq}}
	case ProjectCreated:
		o.Projects[ev.ProjectID] = &Project{ID: ev.ProjectID, Name: ev.Name, Created: e.Time}
	case MemberAdded:
		if cur, ok := o.Members[ev.User]; ok && cur != ev.Role {
			o.dropInvitationsBy(ev.User)
		}
		o.join(ev.User, ev.Role, e.Seq)
	case MemberRemoved:
		o.dropInvitationsBy(ev.User)
		delete(o.Members, ev.User)
		delete(o.MemberEmails, ev.User)
		delete(o.MemberSince, ev.User)
	case InvitationCreated:
		o.pruneInvitations(e.Time)
		o.Invitations[ev.ID] = &Invitation{ID: ev.ID, Email: ev.Email, Role: ev.Role, TokenHash: ev.TokenHash, Created: e.Time, Expires: ev.Expires,
			By: inviter(e.Actor)}
	case InvitationRevoked:
		delete(o.Invitations, ev.ID)
	case InvitationAccepted:
		delete(o.Invitations, ev.ID)
		o.join(ev.User, ev.Role, e.Seq)
		o.MemberEmails[ev.User] = ev.Email
	case ContactsSet:
		o.Contacts = append([]string(nil), ev.Emails...)
	case KeyPolicySet:
		o.Policy = ev.Policy()
	default:
		return E(KindInternal, "org aggregate cannot apply %s", e.Type)
	}
	o.Seq = e.Seq
	return nil
}

// inviter is the member an invitation's actor acts for.
func inviter(a Actor) string {
	if a.Kind == ActorKey {
		return a.User
	}
	return a.ID
}

// dropInvitationsBy withdraws the pending invitations user made.
func (o *Org) dropInvitationsBy(user string) {
	for id, inv := range o.Invitations {
		if inv.By == user {
			delete(o.Invitations, id)
		}
	}
}

// join gives user role; a membership that begins now starts at seq (a
// role change keeps the membership's start).
func (o *Org) join(user string, role Role, seq uint64) {
	if _, already := o.Members[user]; !already {
		if o.MemberSince == nil {
			o.MemberSince = map[string]uint64{}
		}
		o.MemberSince[user] = seq
	}
	o.Members[user] = role
}

// pruneInvitations forgets invitations expired at now (the event's time, so
// that a replay folds to the same state).
func (o *Org) pruneInvitations(now time.Time) {
	for id, inv := range o.Invitations {
		if !now.Before(inv.Expires) {
			delete(o.Invitations, id)
		}
	}
}

// ProjectNamed finds a project by id or unique name.
func (o *Org) ProjectNamed(ref string) (*Project, bool) {
	if pr, ok := o.Projects[ProjectID(ref)]; ok {
		return pr, true
	}
	for _, pr := range o.Projects {
		if pr.Name == ref {
			return pr, true
		}
	}
	return nil, false
}

// DecideCreateOrg validates a new organization's name.
func DecideCreateOrg(p Principal, id TenantID, name string) (OrgCreated, error) {
	if p.Kind == ActorKey {
		return OrgCreated{}, Forbidden("API keys cannot create organizations")
	}
	if !ValidName(name) {
		return OrgCreated{}, Invalid("organization name must be 1 to 256 bytes, without control, format (bidi, zero-width) characters or surrounding spaces")
	}
	return OrgCreated{OrgID: id, Name: name, Owner: p.User}, nil
}

// DecideCreateProject validates a new project in o.
func DecideCreateProject(p Principal, o *Org, id ProjectID, name string) (ProjectCreated, error) {
	if err := p.Authorize(ActionOrgManage, Target{Tenant: o.ID}); err != nil {
		return ProjectCreated{}, err
	}
	if !ValidName(name) {
		return ProjectCreated{}, Invalid("project name must be 1 to 256 bytes, without control, format (bidi, zero-width) characters or surrounding spaces")
	}
	if _, taken := o.ProjectNamed(name); taken {
		return ProjectCreated{}, Conflict("project [%s] already exists", name)
	}
	for _, pr := range o.Projects {
		if SameName(pr.Name, name) {
			return ProjectCreated{}, Conflict("project [%s] already exists as [%s]: names are compared after NFKC normalization", name, pr.Name)
		}
	}
	return ProjectCreated{ProjectID: id, Name: name}, nil
}

func (o *Org) owners() int {
	n := 0
	for _, r := range o.Members {
		if r == RoleOwner {
			n++
		}
	}
	return n
}

// MaxContacts bounds the operational contacts of one organization.
const MaxContacts = 50

// DecideSetContacts validates and normalizes the contact list: valid
// addresses, each once, sorted.
func DecideSetContacts(p Principal, o *Org, emails []string) (ContactsSet, error) {
	if err := p.Authorize(ActionOrgManage, Target{Tenant: o.ID}); err != nil {
		return ContactsSet{}, err
	}
	if len(emails) > MaxContacts {
		return ContactsSet{}, Invalid("at most %d operational contacts", MaxContacts)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, e := range emails {
		addr, err := ParseEmail(e)
		if err != nil {
			return ContactsSet{}, err
		}
		if !seen[strings.ToLower(addr)] {
			seen[strings.ToLower(addr)] = true
			out = append(out, addr)
		}
	}
	sort.Strings(out)
	return ContactsSet{Emails: out}, nil
}

// ParseEmail accepts a bare address ("ops@example.com").
func ParseEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != strings.TrimSpace(s) || len(s) > 254 {
		return "", Invalid("invalid email address [%s]", s)
	}
	return a.Address, nil
}

// User is a login: a member of zero or more organizations.
type User struct {
	Name         string
	Email        string
	FullName     string
	PasswordHash string
	// MustChangePassword: an owner forced a reset; until the login changes
	// its password, its password and sessions open nothing else.
	MustChangePassword bool
	Seq                uint64
}

// Apply folds a user event.
func (u *User) Apply(e Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	switch ev := p.(type) {
	case UserCreated:
		*u = User{Name: ev.Name, Email: ev.Email, FullName: ev.FullName, PasswordHash: ev.PasswordHash}
	case PasswordChanged:
		u.PasswordHash, u.MustChangePassword = ev.PasswordHash, false
	case PasswordResetForced:
		u.MustChangePassword = true
	case SessionsRevoked:
	default:
		return E(KindInternal, "user aggregate cannot apply %s", e.Type)
	}
	u.Seq = e.Seq
	return nil
}

// ValidUserName: logins are 1 to 64 of letters, digits and "._@+-".
func ValidUserName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._@+-", c) >= 0) {
			return false
		}
	}
	return true
}

// UserAggID is the subject token of a user's aggregate: the name in hex, as
// names may hold characters subjects cannot.
func UserAggID(name string) string { return hex.EncodeToString([]byte(name)) }
