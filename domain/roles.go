package domain

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// StringList is a JSON list of strings that also accepts a single string, as
// Elasticsearch does for "names": "*".
type StringList []string

func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return Invalid("expected a string or a list of strings")
	}
	*l = ss
	return nil
}

// IndexPrivileges grants privileges on indices whose names match Names.
type IndexPrivileges struct {
	Names                  StringList      `json:"names"`
	Privileges             StringList      `json:"privileges"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
}

// ApplicationPrivileges grants application privileges on resources.
type ApplicationPrivileges struct {
	Application string     `json:"application"`
	Privileges  StringList `json:"privileges"`
	Resources   StringList `json:"resources"`
}

// RoleDescriptor is Elasticsearch's role descriptor.
type RoleDescriptor struct {
	Cluster           StringList              `json:"cluster"`
	Indices           []IndexPrivileges       `json:"indices"`
	Applications      []ApplicationPrivileges `json:"applications"`
	RunAs             StringList              `json:"run_as"`
	Metadata          map[string]any          `json:"metadata"`
	TransientMetadata map[string]any          `json:"transient_metadata"`
	Description       string                  `json:"description,omitempty"`
}

// RoleDescriptors is a named set of descriptors; their union is one permission.
type RoleDescriptors map[string]RoleDescriptor

// roleDescriptorFields are the fields a descriptor may carry; "index" is
// Elasticsearch's alias of "indices".
var roleDescriptorFields = map[string]bool{
	"cluster": true, "indices": true, "index": true, "applications": true, "run_as": true,
	"metadata": true, "transient_metadata": true, "description": true,
}

// unsupportedDescriptorFields are Elasticsearch's fields that keyplane
// cannot honour. Each is refused rather than dropped: a dropped
// restriction (which narrows a key to its workflows) would leave the key
// wider than asked, and the others grant on clusters or globally where
// keyplane has nothing to grant.
var unsupportedDescriptorFields = map[string]string{
	"restriction":    "keyplane has no workflows to restrict a key to",
	"remote_indices": "keyplane has no remote clusters",
	"remote_cluster": "keyplane has no remote clusters",
	"global":         "keyplane has no global privileges",
}

// ParseRoleDescriptor reads and validates one descriptor named name.
func ParseRoleDescriptor(name string, raw []byte) (RoleDescriptor, error) {
	var rd RoleDescriptor
	if err := CheckDescriptorDepth(raw); err != nil {
		return rd, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return rd, Invalid("failed to parse role [%s]: expected an object", name)
	}
	for f, v := range fields {
		if why, ok := unsupportedDescriptorFields[f]; ok {
			return rd, Invalid("failed to parse role [%s]. field [%s] is not supported: %s", name, f, why)
		}
		if !roleDescriptorFields[f] {
			return rd, Invalid("failed to parse role [%s]. unexpected field [%s]", name, f)
		}
		if f == "index" {
			fields["indices"] = v
			delete(fields, "index")
		}
	}
	norm, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(norm))
	if err := dec.Decode(&rd); err != nil {
		return rd, Invalid("failed to parse role [%s]: %s", name, jsonReason(err))
	}
	if err := rd.Validate(name); err != nil {
		return rd, err
	}
	return rd, nil
}

// ParseRoleDescriptors reads a {"name": descriptor, ...} object. Null or
// absent input gives an empty set.
func ParseRoleDescriptors(raw json.RawMessage) (RoleDescriptors, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return RoleDescriptors{}, nil
	}
	if err := checkDescriptorsDepth(raw); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, Invalid("failed to parse role_descriptors: expected an object of named role descriptors")
	}
	if len(m) > MaxDescriptors {
		return nil, Invalid("[role_descriptors] holds %d descriptors, over the limit of %d", len(m), MaxDescriptors)
	}
	out := make(RoleDescriptors, len(m))
	for name, v := range m {
		if !ValidName(name) {
			return nil, Invalid("invalid role descriptor name [%s]", name)
		}
		rd, err := ParseRoleDescriptor(name, v)
		if err != nil {
			return nil, err
		}
		out[name] = rd
	}
	return out, nil
}

// Validate checks privilege names and patterns.
func (rd RoleDescriptor) Validate(name string) error {
	if err := rd.checkLimits(name); err != nil {
		return err
	}
	for _, p := range rd.Cluster {
		if _, ok := clusterPrivileges[p]; !ok && !strings.HasPrefix(p, "cluster:") {
			return Invalid("unknown cluster privilege [%s] in role [%s]", p, name)
		}
	}
	for _, ip := range rd.Indices {
		if len(ip.Names) == 0 {
			return Invalid("failed to parse indices privileges for role [%s]. missing field [names]", name)
		}
		if len(ip.Privileges) == 0 {
			return Invalid("failed to parse indices privileges for role [%s]. missing field [privileges]", name)
		}
		for _, n := range ip.Names {
			if n == "" {
				return Invalid("empty index name in role [%s]", name)
			}
		}
		for _, p := range ip.Privileges {
			if _, ok := indexPrivileges[p]; !ok && !strings.HasPrefix(p, "indices:") {
				return Invalid("unknown index privilege [%s] in role [%s]", p, name)
			}
		}
	}
	for _, ap := range rd.Applications {
		if ap.Application == "" {
			return Invalid("application privileges of role [%s] must name an application", name)
		}
		if len(ap.Privileges) == 0 || len(ap.Resources) == 0 {
			return Invalid("application privileges of role [%s] need privileges and resources", name)
		}
	}
	return CheckMetadata(rd.Metadata)
}

// CheckMetadata refuses metadata keys beginning with "_": they are reserved
// for the system; and metadata nested deeper than MaxMetadataDepth.
func CheckMetadata(m map[string]any) error {
	if !metadataWithin(m, 1) {
		return limitMetadata.refusal()
	}
	for k := range m {
		if strings.HasPrefix(k, "_") {
			return Invalid("metadata keys may not start with [_]: [%s] is reserved", k)
		}
	}
	return nil
}

// IsEmpty reports whether the descriptor grants nothing.
func (rd RoleDescriptor) IsEmpty() bool {
	return len(rd.Cluster) == 0 && len(rd.Indices) == 0 && len(rd.Applications) == 0 && len(rd.RunAs) == 0
}

// GrantsNothing reports whether no descriptor in the set grants anything: the
// only kind of key a key may create.
func (s RoleDescriptors) GrantsNothing() bool {
	for _, rd := range s {
		if !rd.IsEmpty() {
			return false
		}
	}
	return true
}

// Names returns the descriptor names, sorted.
func (s RoleDescriptors) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// clusterPrivileges maps each named cluster privilege to the action patterns
// it grants; own marks privileges limited to the caller's own API keys.
type clusterPrivilege struct {
	actions  []string
	excludes []string
	own      bool
}

var clusterPrivileges = map[string]clusterPrivilege{
	"all":    {actions: []string{"cluster:*"}},
	"manage": {actions: []string{"cluster:*"}, excludes: []string{"cluster:admin/xpack/security/*", "cluster:admin/keyplane/*"}},
	"manage_security": {actions: []string{"cluster:admin/xpack/security/*", "cluster:admin/keyplane/*", "cluster:monitor/*"},
		excludes: []string{"cluster:admin/keyplane/owner/*"}},
	"manage_api_key":         {actions: []string{"cluster:admin/xpack/security/api_key/*"}},
	"manage_own_api_key":     {actions: []string{"cluster:admin/xpack/security/api_key/*"}, own: true},
	"read_security":          {actions: []string{"cluster:admin/xpack/security/*/get", "cluster:admin/xpack/security/*/query", "cluster:admin/xpack/security/api_key/get", "cluster:monitor/*"}},
	"monitor":                {actions: []string{"cluster:monitor/*"}},
	"manage_token":           {actions: []string{"cluster:admin/xpack/security/token/*"}},
	"grant_api_key":          {actions: []string{"cluster:admin/xpack/security/api_key/grant", "cluster:admin/xpack/security/api_key/grant/*"}},
	"manage_index_templates": {actions: []string{"indices:admin/template/*"}},
	"manage_ilm":             {actions: []string{"cluster:admin/ilm/*"}}, "manage_pipeline": {actions: []string{"cluster:admin/ingest/*"}},
	"monitor_ml": {actions: []string{"cluster:monitor/xpack/ml/*"}}, "manage_ml": {actions: []string{"cluster:admin/xpack/ml/*"}},
	"transport_client": {actions: []string{"cluster:monitor/nodes/liveness", "cluster:monitor/state"}},
	"create_snapshot":  {actions: []string{"cluster:admin/snapshot/create"}}, "manage_ccr": {actions: []string{"cluster:admin/xpack/ccr/*"}},
	"read_ccr": {actions: []string{"cluster:monitor/xpack/ccr/*"}}, "manage_enrich": {actions: []string{"cluster:admin/xpack/enrich/*"}},
	"manage_transform": {actions: []string{"cluster:admin/transform/*"}}, "monitor_transform": {actions: []string{"cluster:monitor/transform/*"}},
	"cross_cluster_search": {actions: []string{"cluster:admin/xpack/security/remote/*"}}, "cross_cluster_replication": {actions: []string{"cluster:admin/xpack/ccr/*"}},
	"manage_service_account": {actions: []string{"cluster:admin/xpack/security/service_account/*"}},
	"manage_user_profile":    {actions: []string{"cluster:admin/xpack/security/profile/*"}},
	"monitor_enrich":         {actions: []string{"cluster:monitor/xpack/enrich/*"}}, "manage_logstash_pipelines": {actions: []string{"cluster:admin/logstash/*"}},
	"read_ilm": {actions: []string{"cluster:monitor/ilm/*"}}, "manage_watcher": {actions: []string{"cluster:admin/xpack/watcher/*"}},
	"monitor_watcher": {actions: []string{"cluster:monitor/xpack/watcher/*"}}, "manage_slm": {actions: []string{"cluster:admin/slm/*"}},
	"read_slm": {actions: []string{"cluster:monitor/slm/*"}}, "none": {},
}

// indexPrivileges maps index privilege names to the action patterns they grant.
var indexPrivileges = map[string][]string{
	"all":                          {"indices:*"},
	"read":                         {"indices:data/read/*"},
	"read_cross_cluster":           {"indices:data/read/*"},
	"write":                        {"indices:data/write/*"},
	"index":                        {"indices:data/write/index*", "indices:data/write/update*", "indices:data/write/bulk*"},
	"create":                       {"indices:data/write/index*", "indices:data/write/bulk*"},
	"create_doc":                   {"indices:data/write/index*", "indices:data/write/bulk*"},
	"delete":                       {"indices:data/write/delete*", "indices:data/write/bulk*"},
	"create_index":                 {"indices:admin/create"},
	"delete_index":                 {"indices:admin/delete"},
	"manage":                       {"indices:monitor/*", "indices:admin/*"},
	"monitor":                      {"indices:monitor/*"},
	"view_index_metadata":          {"indices:admin/get", "indices:admin/mappings/get", "indices:monitor/settings/get"},
	"maintenance":                  {"indices:admin/refresh*", "indices:admin/flush*", "indices:admin/forcemerge*"},
	"auto_configure":               {"indices:admin/auto_create"},
	"manage_follow_index":          {"indices:admin/xpack/ccr/*"},
	"manage_ilm":                   {"indices:admin/ilm/*"},
	"manage_leader_index":          {"indices:admin/xpack/ccr/forget_follower*"},
	"manage_data_stream_lifecycle": {"indices:admin/data_stream/lifecycle/*"},
	// What a cross-cluster key's replication access grants (crosscluster.go).
	"cross_cluster_replication":          {"indices:data/read/xpack/ccr/shard_changes*", "indices:monitor/stats*", "indices:admin/seq_no/*"},
	"cross_cluster_replication_internal": {"indices:internal/admin/ccr/restore/*", "internal:transport/proxy/indices:internal/admin/ccr/restore/*"},
	"none":                               {},
}

// Known cluster and index privileges: exported for the API's
// _has_privileges, which answers false for names it does not know.
func IsClusterPrivilege(p string) bool { _, ok := clusterPrivileges[p]; return ok }
func IsIndexPrivilege(p string) bool   { _, ok := indexPrivileges[p]; return ok }

// match reports whether name matches an Elasticsearch-style pattern with
// '*' (any run, '/' included) and '?' (one byte) wildcards, in time and
// space linear in both (glob).
func match(pattern, name string) bool {
	return pattern == "*" || pattern == name || glob(pattern, name, false)
}

// MatchWildcard is match, exported for name filters in queries.
func MatchWildcard(pattern, name string) bool { return match(pattern, name) }

// MarshalJSON writes absent lists as [] and absent maps as {}, as
// Elasticsearch shows descriptors.
func (rd RoleDescriptor) MarshalJSON() ([]byte, error) {
	type plain RoleDescriptor
	p := plain(rd)
	if p.Cluster == nil {
		p.Cluster = StringList{}
	}
	if p.Indices == nil {
		p.Indices = []IndexPrivileges{}
	}
	if p.Applications == nil {
		p.Applications = []ApplicationPrivileges{}
	}
	if p.RunAs == nil {
		p.RunAs = StringList{}
	}
	if p.Metadata == nil {
		p.Metadata = map[string]any{}
	}
	if p.TransientMetadata == nil {
		p.TransientMetadata = map[string]any{"enabled": true}
	}
	return json.Marshal(p)
}
