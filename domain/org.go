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
	Contacts []string
	Seq      uint64
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
			Members: map[string]Role{ev.Owner: RoleOwner}}
	case ProjectCreated:
		o.Projects[ev.ProjectID] = &Project{ID: ev.ProjectID, Name: ev.Name, Created: e.Time}
	case MemberAdded:
		o.Members[ev.User] = ev.Role
	case ContactsSet:
		o.Contacts = append([]string(nil), ev.Emails...)
	default:
		return E(KindInternal, "org aggregate cannot apply %s", e.Type)
	}
	o.Seq = e.Seq
	return nil
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

// DecideAddMember validates adding user with role to o.
func DecideAddMember(p Principal, o *Org, user string, role Role) (MemberAdded, error) {
	if err := p.Authorize(ActionMembersManage, Target{Tenant: o.ID}); err != nil {
		return MemberAdded{}, err
	}
	if !ValidRole(role) {
		return MemberAdded{}, Invalid("role must be owner, admin or viewer, not [%s]", role)
	}
	if role == RoleOwner && p.Kind == ActorUser && p.Memberships[o.ID] != RoleOwner {
		return MemberAdded{}, Forbidden("only owners can add owners")
	}
	if cur, ok := o.Members[user]; ok && cur == RoleOwner && role != RoleOwner && o.owners() == 1 {
		return MemberAdded{}, Conflict("an organization keeps at least one owner")
	}
	return MemberAdded{User: user, Role: role}, nil
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
	Seq          uint64
}

// Apply folds a user event.
func (u *User) Apply(e Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	ev, ok := p.(UserCreated)
	if !ok {
		return E(KindInternal, "user aggregate cannot apply %s", e.Type)
	}
	*u = User{Name: ev.Name, Email: ev.Email, FullName: ev.FullName, PasswordHash: ev.PasswordHash, Seq: e.Seq}
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
