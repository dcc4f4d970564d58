// Package esrealm is the native realm that the Elasticsearch-compatible
// surface gives every project, as an Elasticsearch cluster has: users, roles
// and application privileges that exist only in that project. They are
// events of one aggregate per project (domain.AggRealm,
// kp.<org>.esrealm.<project>), so that a user name or a role name is unique
// within its project by optimistic concurrency. Like domain, it is pure: no
// I/O, no randomness.
package esrealm

import (
	"sort"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// RealmUser is a project-local user.
type RealmUser struct {
	Name     string         `json:"name"`
	FullName string         `json:"full_name,omitempty"`
	Email    string         `json:"email,omitempty"`
	Roles    []string       `json:"roles"`
	Metadata map[string]any `json:"metadata"`
	Enabled  bool           `json:"enabled"`
	// PasswordHash is an argon2id PHC string, never shown.
	PasswordHash string `json:"-"`
	// Since is the stream sequence of the event that created this user:
	// a user deleted and created again is another account, and the keys
	// and tokens of the first never act for the second.
	Since uint64 `json:"-"`
}

// AppPrivilege names a set of actions of an application, as Elasticsearch's
// application privileges do: role descriptors grant it by name.
type AppPrivilege struct {
	Application string         `json:"application"`
	Name        string         `json:"name"`
	Actions     []string       `json:"actions"`
	Metadata    map[string]any `json:"metadata"`
}

// RealmUserPut v1: a project-local user was created or replaced. An empty
// PasswordHash keeps the user's password (an update without one).
type RealmUserPut struct {
	Name         string         `json:"name"`
	PasswordHash string         `json:"password_hash,omitempty"`
	FullName     string         `json:"full_name,omitempty"`
	Email        string         `json:"email,omitempty"`
	Roles        []string       `json:"roles"`
	Metadata     map[string]any `json:"metadata"`
	Enabled      bool           `json:"enabled"`
}

func (RealmUserPut) EventType() string { return "RealmUserPut" }
func (RealmUserPut) EventVersion() int { return 1 }

// RealmUserDeleted v1.
type RealmUserDeleted struct {
	Name string `json:"name"`
}

func (RealmUserDeleted) EventType() string { return "RealmUserDeleted" }
func (RealmUserDeleted) EventVersion() int { return 1 }

// RealmRolePut v1: a role was created or replaced.
type RealmRolePut struct {
	Name string                `json:"name"`
	Role domain.RoleDescriptor `json:"role"`
}

func (RealmRolePut) EventType() string { return "RealmRolePut" }
func (RealmRolePut) EventVersion() int { return 1 }

// RealmRoleDeleted v1.
type RealmRoleDeleted struct {
	Name string `json:"name"`
}

func (RealmRoleDeleted) EventType() string { return "RealmRoleDeleted" }
func (RealmRoleDeleted) EventVersion() int { return 1 }

// RealmPrivilegesPut v1: application privileges were created or replaced.
type RealmPrivilegesPut struct {
	Privileges []AppPrivilege `json:"privileges"`
}

func (RealmPrivilegesPut) EventType() string { return "RealmPrivilegesPut" }
func (RealmPrivilegesPut) EventVersion() int { return 1 }

// RealmPrivilegesDeleted v1: privileges of one application were removed.
type RealmPrivilegesDeleted struct {
	Application string   `json:"application"`
	Names       []string `json:"names"`
}

func (RealmPrivilegesDeleted) EventType() string { return "RealmPrivilegesDeleted" }
func (RealmPrivilegesDeleted) EventVersion() int { return 1 }

// events are the realm's event types, at their current versions: init
// registers each with domain, so that every reader of the log (eventcodec,
// the projections, replay, the audit export) decodes them in any binary that
// links this package.
var events = []domain.Payload{RealmUserPut{}, RealmUserDeleted{}, RealmRolePut{}, RealmRoleDeleted{},
	RealmPrivilegesPut{}, RealmPrivilegesDeleted{}}

func init() {
	// One call per type: Register needs the concrete type to decode into.
	domain.Register(RealmUserPut{})
	domain.Register(RealmUserDeleted{})
	domain.Register(RealmRolePut{})
	domain.Register(RealmRoleDeleted{})
	domain.Register(RealmPrivilegesPut{})
	domain.Register(RealmPrivilegesDeleted{})
}

// Realm is the native realm of one project: a fold of its events. Apply
// changes it in place; its projection guards it with a lock and hands out
// copies of entries.
type Realm struct {
	Tenant     domain.TenantID
	Project    domain.ProjectID
	Users      map[string]RealmUser
	Roles      map[string]domain.RoleDescriptor
	Privileges map[string]map[string]AppPrivilege // application -> name
	Updated    time.Time
	// Seq is the stream sequence of the realm's last event.
	Seq uint64
}

// NewRealm returns the empty realm of a project.
func NewRealm(t domain.TenantID, pr domain.ProjectID) *Realm {
	return &Realm{Tenant: t, Project: pr, Users: map[string]RealmUser{}, Roles: map[string]domain.RoleDescriptor{},
		Privileges: map[string]map[string]AppPrivilege{}}
}

// Apply folds one realm event.
func (r *Realm) Apply(e domain.Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	switch ev := p.(type) {
	case RealmUserPut:
		u := RealmUser{Name: ev.Name, FullName: ev.FullName, Email: ev.Email, Roles: ev.Roles, Metadata: ev.Metadata,
			Enabled: ev.Enabled, PasswordHash: ev.PasswordHash}
		old, exists := r.Users[ev.Name]
		if u.PasswordHash == "" {
			u.PasswordHash = old.PasswordHash
		}
		u.Since = e.Seq
		if exists {
			u.Since = old.Since
		}
		r.Users[ev.Name] = u
	case RealmUserDeleted:
		delete(r.Users, ev.Name)
	case RealmRolePut:
		r.Roles[ev.Name] = ev.Role
	case RealmRoleDeleted:
		delete(r.Roles, ev.Name)
	case RealmPrivilegesPut:
		for _, ap := range ev.Privileges {
			if r.Privileges[ap.Application] == nil {
				r.Privileges[ap.Application] = map[string]AppPrivilege{}
			}
			r.Privileges[ap.Application][ap.Name] = ap
		}
	case RealmPrivilegesDeleted:
		for _, n := range ev.Names {
			delete(r.Privileges[ev.Application], n)
		}
		if len(r.Privileges[ev.Application]) == 0 {
			delete(r.Privileges, ev.Application)
		}
	default:
		return domain.E(domain.KindInternal, "realm aggregate cannot apply %s", e.Type)
	}
	r.Updated, r.Seq = e.Time, e.Seq
	return nil
}

// superuser is Elasticsearch's built-in role that grants everything; it
// exists in every realm and cannot be changed.
var superuser = domain.RoleDescriptor{
	Cluster:      domain.StringList{"all"},
	Indices:      []domain.IndexPrivileges{{Names: domain.StringList{"*"}, Privileges: domain.StringList{"all"}, AllowRestrictedIndices: true}},
	Applications: []domain.ApplicationPrivileges{{Application: "*", Privileges: domain.StringList{"*"}, Resources: domain.StringList{"*"}}},
	RunAs:        domain.StringList{"*"},
	Metadata:     map[string]any{"_reserved": true},
}

// ReservedRole reports whether name is a built-in role.
func ReservedRole(name string) bool { return name == "superuser" }

// Role finds a role of the realm, built-in roles included.
func (r *Realm) Role(name string) (domain.RoleDescriptor, bool) {
	if ReservedRole(name) {
		return superuser, true
	}
	rd, ok := r.Roles[name]
	return rd, ok
}

// UserRoles resolves a user's roles: the descriptors of those that exist,
// by name, and the names that do not (Elasticsearch ignores them).
func (r *Realm) UserRoles(u RealmUser) (domain.RoleDescriptors, []string) {
	set := domain.RoleDescriptors{}
	var missing []string
	for _, n := range u.Roles {
		if rd, ok := r.Role(n); ok {
			set[n] = rd
		} else {
			missing = append(missing, n)
		}
	}
	return set, missing
}

// UserPrincipal is the principal of an enabled project-local user: it acts
// in its project only, with the union of its roles as its permission.
func (r *Realm) UserPrincipal(name string) (domain.Principal, bool) {
	u, ok := r.Users[name]
	if !ok || !u.Enabled {
		return domain.Principal{}, false
	}
	roles, _ := r.UserRoles(u)
	return domain.Principal{Kind: domain.ActorUser, User: name, Realm: domain.RealmProject, Tenant: r.Tenant, Scope: domain.ScopeProject,
		Project: r.Project, Permission: domain.Permission{roles}}, true
}

// AppPrivileges lists the privileges of an application, sorted by name.
func (r *Realm) AppPrivileges(app string) []AppPrivilege {
	out := make([]AppPrivilege, 0, len(r.Privileges[app]))
	for _, ap := range r.Privileges[app] {
		out = append(out, ap)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PrivilegeActions resolves a privilege name of an application to its
// actions; Elasticsearch's has_privileges and role descriptors use it.
func (r *Realm) PrivilegeActions(app, name string) ([]string, bool) {
	ap, ok := r.Privileges[app][name]
	return ap.Actions, ok
}
