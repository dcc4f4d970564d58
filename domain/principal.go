package domain

import "time"

// Principal is the authenticated caller.
type Principal struct {
	Kind ActorKind
	// User is the member name; for a key, the member the key acts for.
	User string
	// Realm is where User lives: RealmProject for a project-local user of
	// the Elasticsearch surface (package esrealm), empty for members. For a key,
	// its owner's realm.
	Realm string
	// Memberships are a user's roles by organization.
	Memberships map[TenantID]Role

	// For API keys: the key, where it lives, and its effective permission.
	KeyID      KeyID
	KeyName    string
	Tenant     TenantID
	Scope      Scope
	Project    ProjectID
	Permission Permission
	Expires    time.Time
}

// Actor is the principal as recorded in events.
func (p Principal) Actor() Actor {
	if p.Kind == ActorKey {
		return Actor{Kind: ActorKey, ID: string(p.KeyID), Name: p.KeyName, User: p.User}
	}
	if p.Kind == ActorSystem {
		return Actor{Kind: ActorSystem, ID: "keyplane", Name: "keyplane"}
	}
	return Actor{Kind: ActorUser, ID: p.User, Name: p.User, Realm: p.Realm}
}

// RealmName is the realm the principal's user lives in: the project's
// realm for a project-local user, the members' realm otherwise.
func (p Principal) RealmName() string {
	if p.Realm != "" {
		return p.Realm
	}
	return RealmMembers
}

// Owns reports whether the principal owns the key with this id and owner,
// as Elasticsearch sees it: an API key owns only itself (a key limited to
// manage_own_api_key acts on itself, not on its owner's other keys); a user
// owns the keys it created in its own realm (a project-local user and a
// member of the same name are different people). Every ownership decision,
// on every surface, asks this.
func (p Principal) Owns(id KeyID, o Owner) bool {
	if p.Kind == ActorKey {
		return id == p.KeyID
	}
	realm := o.Realm
	if realm == "" {
		realm = RealmMembers
	}
	return p.User != "" && o.User == p.User && realm == p.RealmName()
}

// carriesPermission reports whether the principal is bound to one
// organization and brings its own permission: an API key, or a
// project-local user (whose roles live in its project, not in memberships).
func (p Principal) carriesPermission() bool { return p.Kind == ActorKey || p.Realm == RealmProject }

// Target is what an action applies to.
type Target struct {
	Tenant  TenantID
	Project ProjectID // empty for organization-level targets
	// Own is true when the target is an API key the caller owns.
	Own bool
}

// PermissionIn returns the caller's permission in an organization: a
// member's role, or a key's own (bounded) permission in its organization.
func (p Principal) PermissionIn(t TenantID) Permission {
	if p.carriesPermission() {
		if t != p.Tenant {
			return nil
		}
		return p.Permission
	}
	if p.Kind == ActorSystem {
		return Permission{RolePermission(RoleOwner)}
	}
	role, ok := p.Memberships[t]
	if !ok {
		return nil
	}
	return Permission{RolePermission(role)}
}

// InTenant reports whether the caller can see the organization at all.
// Everything outside answers not-found, never forbidden, so that other
// tenants' resources cannot be probed.
func (p Principal) InTenant(t TenantID) bool {
	if p.carriesPermission() {
		return p.Tenant == t
	}
	if p.Kind == ActorSystem {
		return true
	}
	_, ok := p.Memberships[t]
	return ok
}

// InProject reports whether the caller can see the project: a project key
// sees only its own project.
func (p Principal) InProject(t TenantID, pr ProjectID) bool {
	if !p.InTenant(t) {
		return false
	}
	return !p.carriesPermission() || p.Scope != ScopeProject || p.Project == pr
}

// Authorize checks action on target; the error is not-found outside the
// caller's reach and forbidden inside it.
func (p Principal) Authorize(action string, tg Target) error {
	if !p.InTenant(tg.Tenant) {
		return NotFound("organization not found")
	}
	if p.carriesPermission() && p.Scope == ScopeProject {
		if tg.Project == "" {
			return Forbidden("a project API key cannot act on organization-level resources")
		}
		if tg.Project != p.Project {
			return NotFound("project not found")
		}
	}
	if !p.PermissionIn(tg.Tenant).Allows(action, tg.Own) {
		return Forbidden("action [%s] is unauthorized for %s", action, p.describe())
	}
	return nil
}

func (p Principal) describe() string {
	if p.Kind == ActorKey {
		return "API key id [" + string(p.KeyID) + "] of user [" + p.User + "]"
	}
	return "user [" + p.User + "]"
}

// RolePermission maps a member role to the role descriptors it grants.
// The value is shared (every request by a member, every authentication of
// a member's key needs one): callers must not modify it.
func RolePermission(r Role) RoleDescriptors {
	if rd, ok := rolePermissions[r]; ok {
		return rd
	}
	return RoleDescriptors{}
}

// rolePermissions are the member roles' descriptors, built once.
var rolePermissions = func() map[Role]RoleDescriptors {
	all := []IndexPrivileges{{Names: StringList{"*"}, Privileges: StringList{"all"}, AllowRestrictedIndices: false}}
	apps := []ApplicationPrivileges{{Application: "*", Privileges: StringList{"*"}, Resources: StringList{"*"}}}
	return map[Role]RoleDescriptors{
		RoleOwner: {"owner": {Cluster: StringList{"all"}, Indices: all, Applications: apps, RunAs: StringList{"*"}}},
		// Admins manage keys, projects and contacts; only owners add owners.
		RoleAdmin: {"admin": {Cluster: StringList{"manage", "manage_security"}, Indices: all, Applications: apps}},
		RoleViewer: {"viewer": {Cluster: StringList{"monitor", "read_security"},
			Indices: []IndexPrivileges{{Names: StringList{"*"}, Privileges: StringList{"read", "view_index_metadata"}}}}},
	}
}()
