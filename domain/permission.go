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
	// ActionPolicyManage sets the organization's key policy, which bounds
	// every member's keys, admins' included.
	ActionPolicyManage = "cluster:admin/keyplane/owner/policy"
	// ActionRevokeByFilter revokes every key a filter matches (a cleanup):
	// owners and admins (cluster all, manage_security), not a key or user
	// that may only revoke keys one by one (manage_api_key).
	ActionRevokeByFilter = "cluster:admin/keyplane/api_key/invalidate_by_filter"
)

// Permission is the intersection of role descriptor sets: an action is
// allowed only if every set allows it (a key's own descriptors, what limits
// them, its owner's role). Within one set the descriptors are a union.
// What it grants is decided in one place, esprivileges.go: Allows,
// HasCluster, HasIndex, HasApplication, AllowsRunAs.
type Permission []RoleDescriptors

// jsonReason turns encoding/json errors into a reason a client can act on.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		t := te.Type
		if t.Kind().String() == "ptr" {
			t = t.Elem()
		}
		if te.Field != "" {
			return fmt.Sprintf("field [%s] must be of type %s", te.Field, jsonTypeName(t.Kind().String()))
		}
		return fmt.Sprintf("expected %s", jsonTypeName(t.Kind().String()))
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

// jsonTypeName is what JSON calls values of a Go kind (reflect.Kind's
// name: "struct", "slice", "int64"...): "object", "array", "string",
// "number", "boolean", for a client who knows the body, not our types.
func jsonTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "float32", "float64":
		return "number" // by name: "interface" starts as "int" does
	}
	return "a JSON value"
}

// JSONReason is jsonReason for other packages decoding request bodies.
func JSONReason(err error) string { return jsonReason(err) }
