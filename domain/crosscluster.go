package domain

import (
	"bytes"
	"encoding/json"
)

// KeyCrossCluster is Elasticsearch's cross-cluster API key: it grants a
// remote cluster search and replication access to this one's indices,
// never a REST request (authn refuses it as a credential). Its single role
// descriptor is derived from its access (CrossClusterAccess), never given.
const KeyCrossCluster KeyType = "cross_cluster"

// Elasticsearch's two API key types, as its get and query APIs name them:
// keyplane's personal and managed keys are both rest keys.
const (
	ESTypeRest         = "rest"
	ESTypeCrossCluster = "cross_cluster"
)

// ESType is the key's type as Elasticsearch names it.
func (t KeyType) ESType() string {
	if t == KeyCrossCluster {
		return ESTypeCrossCluster
	}
	return ESTypeRest
}

// KeyRest is no key's type: as a filter (KeyType.Matches) it selects
// Elasticsearch's rest keys, keyplane's personal and managed keys.
const KeyRest KeyType = "rest"

// Matches reports whether filter f selects a key of type t: no filter,
// t itself, or KeyRest for any rest key.
func (t KeyType) Matches(f KeyType) bool {
	return f == "" || f == t || f == KeyRest && t.ESType() == ESTypeRest
}

// Actions on cross-cluster keys, as Elasticsearch names them: under
// cluster:admin/xpack/security/* (manage_security), outside api_key/*, so
// neither manage_api_key nor manage_own_api_key grants them. Elasticsearch
// checks manage_security when invalidating one; keyplane names that check
// as an action too, so that Principal.Authorize decides it like the rest.
const (
	ActionCreateCrossClusterKey     = "cluster:admin/xpack/security/cross_cluster/api_key/create"
	ActionUpdateCrossClusterKey     = "cluster:admin/xpack/security/cross_cluster/api_key/update"
	ActionInvalidateCrossClusterKey = "cluster:admin/xpack/security/cross_cluster/api_key/invalidate"
)

// CrossClusterDescriptorName is the one descriptor of a cross-cluster key.
const CrossClusterDescriptorName = "cross_cluster"

// The privileges Elasticsearch derives from a cross-cluster key's access
// (its CrossClusterApiKeyRoleDescriptorBuilder, 8.14 and later: search
// also gets monitor_enrich, which ES|QL's ENRICH needs on the remote).
var (
	ccsCluster = []string{"cross_cluster_search", "monitor_enrich"}
	ccrCluster = []string{"cross_cluster_replication"}
	ccsIndices = []string{"read", "read_cross_cluster", "view_index_metadata"}
	ccrIndices = []string{"cross_cluster_replication", "cross_cluster_replication_internal"}
)

// AccessEntry is one entry of a cross-cluster key's access: index name
// patterns, and for search only, document and field level security.
type AccessEntry struct {
	Names                  StringList      `json:"names"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
}

func anyDLSOrFLS(es []AccessEntry) bool {
	for _, e := range es {
		if len(e.FieldSecurity) > 0 || len(e.Query) > 0 {
			return true
		}
	}
	return false
}

func clone(l []string) []string { return append([]string(nil), l...) }

func equalLists(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CrossClusterAccess is what a cross-cluster key grants a remote cluster:
// cross-cluster search and cross-cluster replication of indices.
type CrossClusterAccess struct {
	Search      []AccessEntry `json:"search,omitempty"`
	Replication []AccessEntry `json:"replication,omitempty"`
}

// accessEntryFields are the fields an access entry may carry.
var accessEntryFields = map[string]bool{"names": true, "field_security": true, "query": true, "allow_restricted_indices": true}

// ParseCrossClusterAccess reads the access of a create or update request,
// bounded as role descriptors are (its entries become one descriptor's
// index entries), with Elasticsearch's errors.
func ParseCrossClusterAccess(raw json.RawMessage) (CrossClusterAccess, error) {
	var a CrossClusterAccess
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return a, Invalid("access doesn't support values of type: VALUE_NULL")
	}
	if err := CheckDescriptorDepth(raw); err != nil {
		return a, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return a, Invalid("failed to parse [access]: expected an object with [search] and/or [replication]")
	}
	for f := range fields {
		if f != "search" && f != "replication" {
			return a, Invalid("[cross_cluster_api_key_request_access] unknown field [%s]", f)
		}
	}
	var err error
	if a.Search, err = parseAccessEntries("search", fields["search"]); err != nil {
		return a, err
	}
	if a.Replication, err = parseAccessEntries("replication", fields["replication"]); err != nil {
		return a, err
	}
	if n := len(a.Search) + len(a.Replication); n > MaxDescriptorEntries {
		return a, Invalid("[access] has %d search and replication entries, over the limit of %d", n, MaxDescriptorEntries)
	}
	return a, nil
}

// parseAccessEntries reads the list of one kind of access (absent: none).
func parseAccessEntries(kind string, raw json.RawMessage) ([]AccessEntry, error) {
	if raw == nil {
		return nil, nil
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, Invalid("[cross_cluster_api_key_request_access] %s doesn't support values of type: VALUE_NULL", kind)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, Invalid("failed to parse [access.%s]: expected a list of index entries", kind)
	}
	if len(items) > MaxDescriptorEntries {
		return nil, Invalid("[access.%s] lists %d entries, over the limit of %d", kind, len(items), MaxDescriptorEntries)
	}
	out := make([]AccessEntry, 0, len(items))
	for _, it := range items {
		e, err := parseAccessEntry(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func parseAccessEntry(raw json.RawMessage) (AccessEntry, error) {
	var e AccessEntry
	fail := func(format string, args ...any) error {
		return Invalid("failed to parse indices privileges for role [%s]. "+format, append([]any{CrossClusterDescriptorName}, args...)...)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return e, fail("expected an object")
	}
	for f, v := range fields {
		switch {
		case f == "privileges":
			return e, fail("field [privileges] must not present")
		case !accessEntryFields[f]:
			return e, fail("unexpected field [%s]", f)
		case string(bytes.TrimSpace(v)) == "null" && f != "names":
			delete(fields, f) // as absent, as Elasticsearch reads a null query or field_security
		}
	}
	if fields["names"] == nil {
		return e, fail("missing required [names] field")
	}
	norm, _ := json.Marshal(fields)
	if err := json.Unmarshal(norm, &e); err != nil {
		return e, fail("%s", jsonReason(err))
	}
	if len(e.Names) == 0 {
		return e, fail("[names] must not be empty")
	}
	for _, n := range e.Names {
		if n == "" {
			return e, fail("[names] must not hold an empty index name")
		}
	}
	if err := checkList(CrossClusterDescriptorName, "access.names", e.Names, MaxIndexNameBytes); err != nil {
		return e, err
	}
	return e, nil
}

// Descriptors derives the key's role descriptors from its access exactly
// as Elasticsearch does: one descriptor named cross_cluster, cluster
// privileges by which kinds of access there are, one index entry per
// access entry (search first) with the kind's fixed privileges.
func (a CrossClusterAccess) Descriptors() (RoleDescriptors, error) {
	var cluster []string
	switch {
	case len(a.Search) == 0 && len(a.Replication) == 0:
		return nil, Invalid("must specify non-empty access for either [search] or [replication]")
	case len(a.Search) == 0:
		cluster = ccrCluster
	case len(a.Replication) == 0:
		cluster = ccsCluster
	default:
		cluster = append(clone(ccsCluster), ccrCluster...)
		if anyDLSOrFLS(a.Search) {
			return nil, Invalid("search does not support document or field level security if replication is assigned")
		}
	}
	if anyDLSOrFLS(a.Replication) {
		return nil, Invalid("replication does not support document or field level security")
	}
	rd := RoleDescriptor{Cluster: clone(cluster)}
	for _, e := range a.Search {
		rd.Indices = append(rd.Indices, IndexPrivileges{Names: clone(e.Names), Privileges: clone(ccsIndices),
			FieldSecurity: e.FieldSecurity, Query: e.Query, AllowRestrictedIndices: e.AllowRestrictedIndices})
	}
	for _, e := range a.Replication {
		rd.Indices = append(rd.Indices, IndexPrivileges{Names: clone(e.Names), Privileges: clone(ccrIndices),
			AllowRestrictedIndices: e.AllowRestrictedIndices})
	}
	if err := rd.Validate(CrossClusterDescriptorName); err != nil {
		return nil, err
	}
	return RoleDescriptors{CrossClusterDescriptorName: rd}, nil
}

// CrossClusterAccessOf is the access a cross-cluster key's descriptors were
// derived from, as Elasticsearch's get and query APIs show it: each index
// entry, without its privileges, under the kind its privileges say.
func CrossClusterAccessOf(rds RoleDescriptors) CrossClusterAccess {
	var a CrossClusterAccess
	for _, ip := range rds[CrossClusterDescriptorName].Indices {
		e := AccessEntry{Names: ip.Names, FieldSecurity: ip.FieldSecurity, Query: ip.Query, AllowRestrictedIndices: ip.AllowRestrictedIndices}
		if equalLists(ip.Privileges, ccrIndices) {
			a.Replication = append(a.Replication, e)
		} else {
			a.Search = append(a.Search, e)
		}
	}
	return a
}

// crossClusterDescriptors decides the descriptors of a cross-cluster key
// created by p: only a user may create one (Elasticsearch's rule: a key's
// permission could not bound it, since it records no limited_by), and
// only from an access, never from role descriptors.
func (c CreateKey) crossClusterDescriptors(p Principal) (RoleDescriptors, error) {
	if p.Kind == ActorKey {
		return nil, Invalid("authentication via API key not supported: An API key cannot be used to create a cross-cluster API key")
	}
	if c.GrantedBy != nil {
		return nil, Invalid("cross-cluster API keys cannot be granted")
	}
	if c.Scope != ScopeProject {
		// A remote cluster reaches one cluster: a project, not an organization.
		return nil, Invalid("a cross-cluster API key belongs to a project: create it under the project")
	}
	if present(c.RoleDescriptors) {
		return nil, Invalid("a cross-cluster API key takes [access], not [role_descriptors]: its role descriptor is derived from its access")
	}
	if len(bytes.TrimSpace(c.Access)) == 0 {
		return nil, Invalid("Required [access]")
	}
	a, err := ParseCrossClusterAccess(c.Access)
	if err != nil {
		return nil, err
	}
	return a.Descriptors()
}

// present reports whether a raw JSON field was given, and not null.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

// authorizeCrossCluster is the privilege an action on cross-cluster key k
// needs besides the action's own: manage_security's, as Elasticsearch
// requires to create, update and invalidate them.
func authorizeCrossCluster(p Principal, k *Key, action string) error {
	if k.Type != KeyCrossCluster {
		return nil
	}
	return p.Authorize(action, k.TargetFor(p))
}
