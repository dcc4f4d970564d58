package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Actions keyplane checks. They follow Elasticsearch's action names so that
// role descriptors written for Elasticsearch mean the same thing here.
const (
	ActionCreateKey     = "cluster:admin/xpack/security/api_key/create"
	ActionGetKey        = "cluster:admin/xpack/security/api_key/get"
	ActionQueryKey      = "cluster:admin/xpack/security/api_key/query"
	ActionUpdateKey     = "cluster:admin/xpack/security/api_key/update"
	ActionInvalidateKey = "cluster:admin/xpack/security/api_key/invalidate"
	ActionGrantKey      = "cluster:admin/xpack/security/api_key/grant"
	ActionOrgRead       = "cluster:monitor/keyplane/org/get"
	ActionOrgManage     = "cluster:admin/keyplane/org/manage"
	ActionMembersManage = "cluster:admin/xpack/security/user/put"
	ActionAuditRead     = "cluster:admin/keyplane/audit/get"
	ActionHealth        = "cluster:monitor/health"
	// Owner-only actions: only the cluster privilege "all" (the owner
	// role) grants them, so an admin's key, session or password alike
	// cannot add, promote, demote or remove owners, nor read past states.
	ActionOwnersManage = "cluster:admin/keyplane/owner/members"
	ActionKeysAsOf     = "cluster:admin/keyplane/owner/keys_as_of"
)

// Permission is the intersection of role descriptor sets: an action is
// allowed only if every set allows it (a key's own descriptors, what limits
// them, its owner's role). Within one set the descriptors are a union.
type Permission []RoleDescriptors

// Allows reports whether the cluster action is allowed. own says whether the
// target is the caller's own API key, which manage_own_api_key requires.
func (p Permission) Allows(action string, own bool) bool {
	if len(p) == 0 {
		return false
	}
	for _, set := range p {
		if !set.allows(action, own) {
			return false
		}
	}
	return true
}

func (s RoleDescriptors) allows(action string, own bool) bool {
	for _, rd := range s {
		for _, name := range rd.Cluster {
			if clusterPrivilegeAllows(name, action, own) {
				return true
			}
		}
	}
	return false
}

func clusterPrivilegeAllows(name, action string, own bool) bool {
	cp, ok := clusterPrivileges[name]
	if !ok {
		return strings.HasPrefix(name, "cluster:") && match(name, action)
	}
	if cp.own && !own {
		return false
	}
	for _, ex := range cp.excludes {
		if match(ex, action) {
			return false
		}
	}
	for _, a := range cp.actions {
		if match(a, action) {
			return true
		}
	}
	return false
}

// HasIndexPrivilege reports whether the permission grants privilege priv on
// index (a concrete name).
func (p Permission) HasIndexPrivilege(index, priv string) bool {
	want, ok := indexPrivileges[priv]
	if !ok {
		if !strings.HasPrefix(priv, "indices:") {
			return false
		}
		want = []string{priv}
	}
	if len(p) == 0 {
		return false
	}
	for _, set := range p {
		for _, action := range want {
			if !set.allowsIndex(index, action) {
				return false
			}
		}
	}
	return true
}

func (s RoleDescriptors) allowsIndex(index, action string) bool {
	for _, rd := range s {
		for _, ip := range rd.Indices {
			if !anyMatch(ip.Names, index) {
				continue
			}
			for _, priv := range ip.Privileges {
				acts, ok := indexPrivileges[priv]
				if !ok {
					acts = []string{priv}
				}
				for _, a := range acts {
					if match(a, action) || covers(a, action) {
						return true
					}
				}
			}
		}
	}
	return false
}

// covers reports whether granted pattern g includes every action of pattern
// w (both may end in '*'), e.g. "indices:*" covers "indices:data/read/*".
func covers(g, w string) bool {
	if strings.HasSuffix(g, "*") {
		return strings.HasPrefix(strings.TrimSuffix(w, "*"), strings.TrimSuffix(g, "*"))
	}
	return g == w
}

// HasApplicationPrivilege reports whether the permission grants priv of app
// on resource. Privilege names may be wildcards in the grant.
func (p Permission) HasApplicationPrivilege(app, priv, resource string) bool {
	if len(p) == 0 {
		return false
	}
	for _, set := range p {
		found := false
		for _, rd := range set {
			for _, ap := range rd.Applications {
				if match(ap.Application, app) && anyMatch(ap.Privileges, priv) && anyMatch(ap.Resources, resource) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, name string) bool {
	for _, pat := range patterns {
		if match(pat, name) {
			return true
		}
	}
	return false
}

// jsonReason turns encoding/json errors into a reason a client can act on.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field [%s] must be of type %s", te.Field, te.Type.String())
		}
		return fmt.Sprintf("expected %s", te.Type.String())
	}
	var de *Error
	if errors.As(err, &de) {
		return de.Reason
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at offset %d", se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// JSONReason is jsonReason for other packages decoding request bodies.
func JSONReason(err error) string { return jsonReason(err) }
