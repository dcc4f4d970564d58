package esrealm

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

func realmTarget(r *Realm) domain.Target { return domain.Target{Tenant: r.Tenant, Project: r.Project} }

// PutUser creates or replaces a project-local user.
type PutUser struct {
	Name     string
	FullName string
	Email    string
	Roles    []string
	Metadata map[string]any
	Enabled  *bool
	// PasswordHash is the hash of a new password; empty keeps the old one.
	PasswordHash string
	// MemberName says the name is a member's of the realm's organization:
	// the member's in every project (a project user never shadows a
	// member), so no new project user may take it.
	MemberName bool
}

// DecidePutUser validates a user; created says whether it is new.
func DecidePutUser(p domain.Principal, r *Realm, u PutUser) (ev RealmUserPut, created bool, err error) {
	if err := p.Authorize(domain.ActionPutUser, realmTarget(r)); err != nil {
		return ev, false, err
	}
	if !domain.ValidUserName(u.Name) {
		return ev, false, domain.Invalid("Validation Failed: 1: invalid username [%s]: use 1 to 64 letters, digits or ._@+-;", u.Name)
	}
	_, exists := r.Users[u.Name]
	if !exists && u.MemberName {
		return ev, false, domain.Conflict("user [%s] is a member of this organization: choose another name", u.Name)
	}
	if !exists && u.PasswordHash == "" {
		return ev, false, domain.Invalid("Validation Failed: 1: password must be specified unless you are updating an existing user;")
	}
	if len(u.Roles) > domain.MaxListEntries {
		return ev, false, domain.Invalid("Validation Failed: 1: [roles] lists %d entries, over the limit of %d;", len(u.Roles), domain.MaxListEntries)
	}
	for _, role := range u.Roles {
		if !domain.ValidName(role) {
			return ev, false, domain.Invalid("Validation Failed: 1: invalid role name [%s];", role)
		}
	}
	if u.Email != "" {
		if _, err := domain.ParseEmail(u.Email); err != nil {
			return ev, false, err
		}
	}
	if err := domain.CheckMetadata(u.Metadata); err != nil {
		return ev, false, err
	}
	ev = RealmUserPut{Name: u.Name, PasswordHash: u.PasswordHash, FullName: u.FullName, Email: u.Email,
		Roles: u.Roles, Metadata: u.Metadata, Enabled: u.Enabled == nil || *u.Enabled}
	if ev.Roles == nil {
		ev.Roles = []string{}
	}
	if ev.Metadata == nil {
		ev.Metadata = map[string]any{}
	}
	return ev, !exists, nil
}

// DecideDeleteUser removes a user; an unknown one is not found.
func DecideDeleteUser(p domain.Principal, r *Realm, name string) (RealmUserDeleted, error) {
	if err := p.Authorize(domain.ActionDeleteUser, realmTarget(r)); err != nil {
		return RealmUserDeleted{}, err
	}
	if _, ok := r.Users[name]; !ok {
		return RealmUserDeleted{}, domain.NotFound("user [%s] not found", name)
	}
	return RealmUserDeleted{Name: name}, nil
}

// DecidePutRole validates a role descriptor; created says whether it is new.
func DecidePutRole(p domain.Principal, r *Realm, name string, raw []byte) (RealmRolePut, bool, error) {
	if err := p.Authorize(domain.ActionPutRole, realmTarget(r)); err != nil {
		return RealmRolePut{}, false, err
	}
	if !domain.ValidName(name) {
		return RealmRolePut{}, false, domain.Invalid("Validation Failed: 1: invalid role name [%s];", name)
	}
	if ReservedRole(name) {
		return RealmRolePut{}, false, domain.Invalid("Validation Failed: 1: Role [%s] is reserved and may not be used.;", name)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return RealmRolePut{}, false, domain.Invalid("request body is required")
	}
	rd, err := domain.ParseRoleDescriptor(name, raw)
	if err != nil {
		return RealmRolePut{}, false, err
	}
	_, exists := r.Roles[name]
	return RealmRolePut{Name: name, Role: rd}, !exists, nil
}

// DecideDeleteRole removes a role; users keep naming it, and it no longer
// grants them anything.
func DecideDeleteRole(p domain.Principal, r *Realm, name string) (RealmRoleDeleted, error) {
	if err := p.Authorize(domain.ActionDeleteRole, realmTarget(r)); err != nil {
		return RealmRoleDeleted{}, err
	}
	if ReservedRole(name) {
		return RealmRoleDeleted{}, domain.Invalid("role [%s] is reserved and cannot be deleted", name)
	}
	if _, ok := r.Roles[name]; !ok {
		return RealmRoleDeleted{}, domain.NotFound("role [%s] not found", name)
	}
	return RealmRoleDeleted{Name: name}, nil
}

// DecidePutPrivileges reads Elasticsearch's {app: {name: {actions,
// metadata}}} body; created tells, per application and name, whether the
// privilege is new.
func DecidePutPrivileges(p domain.Principal, r *Realm, raw []byte) (RealmPrivilegesPut, map[string]map[string]bool, error) {
	var ev RealmPrivilegesPut
	if err := p.Authorize(domain.ActionPutPrivileges, realmTarget(r)); err != nil {
		return ev, nil, err
	}
	var body map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || len(body) == 0 {
		return ev, nil, domain.Invalid("Validation Failed: 1: expected {\"application\": {\"privilege\": {\"actions\": [...]}}};")
	}
	created := map[string]map[string]bool{}
	for _, app := range sortedKeys(body) {
		if !validAppName(app) {
			return ev, nil, domain.Invalid("Validation Failed: 1: invalid application name [%s]: it must begin with a lowercase letter and hold letters, digits, _ or -;", app)
		}
		created[app] = map[string]bool{}
		for _, name := range sortedKeys(body[app]) {
			ap, err := parseAppPrivilege(app, name, body[app][name])
			if err != nil {
				return ev, nil, err
			}
			_, exists := r.Privileges[app][name]
			created[app][name] = !exists
			ev.Privileges = append(ev.Privileges, ap)
		}
	}
	return ev, created, nil
}

func parseAppPrivilege(app, name string, raw json.RawMessage) (AppPrivilege, error) {
	var in struct {
		Application string         `json:"application"`
		Name        string         `json:"name"`
		Actions     []string       `json:"actions"`
		Metadata    map[string]any `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return AppPrivilege{}, domain.Invalid("failed to parse application privilege [%s/%s]: %s", app, name, domain.JSONReason(err))
	}
	switch {
	case in.Application != "" && in.Application != app:
		return AppPrivilege{}, domain.Invalid("Validation Failed: 1: application [%s] does not match the key [%s];", in.Application, app)
	case in.Name != "" && in.Name != name:
		return AppPrivilege{}, domain.Invalid("Validation Failed: 1: privilege name [%s] does not match the key [%s];", in.Name, name)
	case !validPrivilegeName(name):
		return AppPrivilege{}, domain.Invalid("Validation Failed: 1: invalid application privilege name [%s];", name)
	case len(in.Actions) == 0:
		return AppPrivilege{}, domain.Invalid("Validation Failed: 1: application privileges must have at least one action;")
	case len(in.Actions) > domain.MaxListEntries:
		return AppPrivilege{}, domain.Invalid("Validation Failed: 1: [actions] lists %d entries, over the limit of %d;", len(in.Actions), domain.MaxListEntries)
	}
	for _, a := range in.Actions {
		if len(a) > domain.MaxEntryBytes {
			return AppPrivilege{}, domain.Invalid("Validation Failed: 1: an action is %d bytes, over the limit of %d;", len(a), domain.MaxEntryBytes)
		}
		if !strings.ContainsAny(a, "/*:") {
			return AppPrivilege{}, domain.Invalid("Validation Failed: 1: action [%s] must contain one of [/*:];", a)
		}
	}
	if err := domain.CheckMetadata(in.Metadata); err != nil {
		return AppPrivilege{}, err
	}
	if in.Metadata == nil {
		in.Metadata = map[string]any{}
	}
	return AppPrivilege{Application: app, Name: name, Actions: in.Actions, Metadata: in.Metadata}, nil
}

// DecideDeletePrivileges removes privileges of an application; found tells
// which existed. Nothing found is not found.
func DecideDeletePrivileges(p domain.Principal, r *Realm, app string, names []string) (RealmPrivilegesDeleted, map[string]bool, error) {
	if err := p.Authorize(domain.ActionDeletePrivileges, realmTarget(r)); err != nil {
		return RealmPrivilegesDeleted{}, nil, err
	}
	found := map[string]bool{}
	ev := RealmPrivilegesDeleted{Application: app}
	for _, n := range names {
		_, ok := r.Privileges[app][n]
		found[n] = ok
		if ok {
			ev.Names = append(ev.Names, n)
		}
	}
	if len(ev.Names) == 0 {
		return ev, found, domain.NotFound("no privilege [%s] of application [%s]", strings.Join(names, ","), app)
	}
	return ev, found, nil
}

func validAppName(s string) bool {
	if s == "" || len(s) > domain.MaxAppNameBytes || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
	}) < 0
}

func validPrivilegeName(s string) bool {
	if s == "" || len(s) > domain.MaxAppNameBytes || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.-", c))
	}) < 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
