package es_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// ccUsers makes project users of the default project: sec (manage_security),
// keys (manage_api_key) and own (manage_own_api_key), each password
// "<name>-password", and returns their Basic credentials.
func ccUsers(t *testing.T, base string) (sec, keys, own string) {
	t.Helper()
	owner := basic(ownerAuth)
	for _, u := range []struct{ name, priv string }{{"sec", "manage_security"}, {"keys", "manage_api_key"}, {"own", "manage_own_api_key"}} {
		esDo(t, "PUT", base+"/_security/role/"+u.name, owner, `{"cluster": ["`+u.priv+`"]}`).Must(t, 200)
		esDo(t, "PUT", base+"/_security/user/"+u.name, owner, `{"password": "`+u.name+`-password", "roles": ["`+u.name+`"]}`).Must(t, 200)
	}
	return basic("sec:sec-password"), basic("keys:keys-password"), basic("own:own-password")
}

// jsonEq fails unless got, re-encoded, equals want's canonical encoding.
func jsonEq(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if string(g) != string(wb) {
		t.Fatalf("%s\n got %s\nwant %s", what, g, wb)
	}
}

func firstKey(t *testing.T, r esResp) map[string]any {
	t.Helper()
	ks, _ := r.Body["api_keys"].([]any)
	if len(ks) != 1 {
		t.Fatalf("want one key: %s", r.Raw)
	}
	return ks[0].(map[string]any)
}

func TestCrossClusterKeyLifecycleAnswersAsElasticsearch(t *testing.T) {
	a := startApp(t)
	base := a.URL()
	sec, keys, _ := ccUsers(t, base)
	created := esDo(t, "POST", base+"/_security/cross_cluster/api_key", sec, `{
		"name": "my-key", "expiration": "7d", "metadata": {"tag": "shared", "points": 0},
		"access": {"search": [{"names": ["metrics"]}], "replication": [{"names": ["logs"], "allow_restricted_indices": true}]}}`).Must(t, 200)
	id := created.Str("id")
	for _, f := range []string{"id", "name", "expiration", "api_key", "encoded"} {
		if created.Body[f] == nil {
			t.Fatalf("create answer lacks %s: %s", f, created.Raw)
		}
	}
	if len(created.Body) != 5 {
		t.Fatalf("create answer: %s", created.Raw)
	}

	// Refused as a credential, on every API, with Elasticsearch's reason.
	cred := "ApiKey " + created.Str("encoded")
	for _, path := range []string{"/_security/_authenticate", "/_security/api_key", "/api/v1/whoami"} {
		r := esDo(t, "GET", base+path, cred, nil).Must(t, 401)
		if !strings.Contains(string(r.Raw), "authentication expected API key type of [rest], but API key ["+id+"] has type [cross_cluster]") {
			t.Fatalf("%s: %s", path, r.Raw)
		}
	}

	got := firstKey(t, esDo(t, "GET", base+"/_security/api_key?id="+id+"&with_limited_by=true", sec, nil).Must(t, 200))
	if got["type"] != "cross_cluster" || got["limited_by"] != nil || got["expiration"] == nil {
		t.Fatalf("get: %v", got)
	}
	jsonEq(t, "role_descriptors", got["role_descriptors"], `{"cross_cluster": {
		"cluster": ["cross_cluster_search", "monitor_enrich", "cross_cluster_replication"],
		"indices": [
			{"names": ["metrics"], "privileges": ["read", "read_cross_cluster", "view_index_metadata"], "allow_restricted_indices": false},
			{"names": ["logs"], "privileges": ["cross_cluster_replication", "cross_cluster_replication_internal"], "allow_restricted_indices": true}],
		"applications": [], "run_as": [], "metadata": {}, "transient_metadata": {"enabled": true}}}`)
	jsonEq(t, "access", got["access"], `{"search": [{"names": ["metrics"], "allow_restricted_indices": false}],
		"replication": [{"names": ["logs"], "allow_restricted_indices": true}]}`)

	// The access shown feeds an update that changes nothing; another
	// access changes the descriptor; metadata alone keeps the access.
	body, _ := json.Marshal(map[string]any{"access": got["access"]})
	upd := esDo(t, "PUT", base+"/_security/cross_cluster/api_key/"+id, sec, string(body)).Must(t, 200)
	if upd.Body["updated"] != false {
		t.Fatalf("same access: %s", upd.Raw)
	}
	upd = esDo(t, "PUT", base+"/_security/cross_cluster/api_key/"+id, sec, `{"access": {"search": [{"names": ["blogs"]}]}, "expiration": "30d"}`).Must(t, 200)
	if upd.Body["updated"] != true {
		t.Fatalf("new access: %s", upd.Raw)
	}
	esDo(t, "PUT", base+"/_security/cross_cluster/api_key/"+id, sec, `{"metadata": {"env": "prod"}}`).Must(t, 200)
	got = firstKey(t, esDo(t, "GET", base+"/_security/api_key?id="+id, keys, nil).Must(t, 200))
	jsonEq(t, "updated access", got["access"], `{"search": [{"names": ["blogs"], "allow_restricted_indices": false}]}`)
	jsonEq(t, "updated cluster privileges", got["role_descriptors"].(map[string]any)["cross_cluster"].(map[string]any)["cluster"],
		`["cross_cluster_search", "monitor_enrich"]`)
	jsonEq(t, "updated metadata", got["metadata"], `{"env": "prod"}`)

	// manage_api_key reads it but cannot invalidate it; manage_security can.
	inv := esDo(t, "DELETE", base+"/_security/api_key", keys, `{"ids": ["`+id+`"]}`).Must(t, 200)
	if !strings.Contains(string(inv.Raw), "Cannot invalidate cross-cluster API key ["+id+"]. This requires [manage_security] cluster privilege or higher") ||
		len(inv.Body["invalidated_api_keys"].([]any)) != 0 {
		t.Fatalf("invalidation by manage_api_key: %s", inv.Raw)
	}
	inv = esDo(t, "DELETE", base+"/_security/api_key", sec, `{"ids": ["`+id+`"]}`).Must(t, 200)
	if len(inv.Body["invalidated_api_keys"].([]any)) != 1 || inv.Body["error_count"].(float64) != 0 {
		t.Fatalf("invalidation by manage_security: %s", inv.Raw)
	}
	r := esDo(t, "GET", base+"/_security/_authenticate", cred, nil).Must(t, 401)
	if !strings.Contains(string(r.Raw), "invalidated") {
		t.Fatalf("an invalidated cross-cluster key: %s", r.Raw)
	}
}

func TestCrossClusterKeysAreRefusedWithElasticsearchsErrors(t *testing.T) {
	a := startApp(t)
	base := a.URL()
	sec, keys, own := ccUsers(t, base)
	const access = `"access": {"search": [{"names": ["metrics"]}]}`
	cc := esDo(t, "POST", base+"/_security/cross_cluster/api_key", sec, `{"name": "cc", `+access+`}`).Must(t, 200).Str("id")
	rest := esDo(t, "POST", base+"/_security/api_key", sec, `{"name": "rest"}`).Must(t, 200)
	restKey := "ApiKey " + rest.Str("encoded")
	othersCC := esDo(t, "POST", base+"/_security/cross_cluster/api_key", basic(ownerAuth), `{"name": "owners", `+access+`}`).Must(t, 200).Str("id")
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		reason                         string
	}{
		{"create by manage_api_key", "POST", "/_security/cross_cluster/api_key", keys, `{"name": "x", ` + access + `}`, 403,
			"action [cluster:admin/xpack/security/cross_cluster/api_key/create] is unauthorized"},
		{"create by manage_own_api_key", "PUT", "/_security/cross_cluster/api_key", own, `{"name": "x", ` + access + `}`, 403,
			"action [cluster:admin/xpack/security/cross_cluster/api_key/create] is unauthorized"},
		{"create by an API key", "POST", "/_security/cross_cluster/api_key", restKey, `{"name": "x", ` + access + `}`, 400,
			"authentication via API key not supported: An API key cannot be used to create a cross-cluster API key"},
		{"create without access", "POST", "/_security/cross_cluster/api_key", sec, `{"name": "x"}`, 400, "Required [access]"},
		{"create without name", "POST", "/_security/cross_cluster/api_key", sec, `{` + access + `}`, 400, "Required [name]"},
		{"create with empty access", "POST", "/_security/cross_cluster/api_key", sec, `{"name": "x", "access": {}}`, 400,
			"must specify non-empty access for either [search] or [replication]"},
		{"create with privileges", "POST", "/_security/cross_cluster/api_key", sec, `{"name": "x", "access": {"search": [{"names": ["a"], "privileges": ["all"]}]}}`, 400,
			"field [privileges] must not present"},
		{"create with DLS on replication", "POST", "/_security/cross_cluster/api_key", sec, `{"name": "x", "access": {"replication": [{"names": ["a"], "query": {"match_all": {}}}]}}`, 400,
			"replication does not support document or field level security"},
		{"create with a parameter", "POST", "/_security/cross_cluster/api_key?refresh=true", sec, `{"name": "x", ` + access + `}`, 400, "unrecognized parameter: [refresh]"},
		{"update without body", "PUT", "/_security/cross_cluster/api_key/" + cc, sec, "", 400, "request body is required"},
		{"update of nothing", "PUT", "/_security/cross_cluster/api_key/" + cc, sec, `{"expiration": "1d"}`, 400,
			"must update either [access] or [metadata] for cross-cluster API keys"},
		{"update with empty access", "PUT", "/_security/cross_cluster/api_key/" + cc, sec, `{"access": {}}`, 400,
			"must specify non-empty access for either [search] or [replication]"},
		{"rest update of a cross-cluster key", "PUT", "/_security/api_key/" + cc, sec, `{"metadata": {}}`, 400,
			"cannot update API key of type [cross_cluster] while expected type is [rest]"},
		{"bulk rest update of a cross-cluster key", "POST", "/_security/api_key/_bulk_update", sec, `{"ids": ["` + cc + `"]}`, 200,
			"cannot update API key of type [cross_cluster] while expected type is [rest]"},
		{"cross-cluster update of a rest key", "PUT", "/_security/cross_cluster/api_key/" + rest.Str("id"), sec, `{"metadata": {}}`, 400,
			"cannot update API key of type [rest] while expected type is [cross_cluster]"},
		{"update of another's key", "PUT", "/_security/cross_cluster/api_key/" + othersCC, sec, `{"metadata": {}}`, 404,
			"no API key owned by requesting user found"},
		{"update by manage_api_key", "PUT", "/_security/cross_cluster/api_key/" + othersCC, keys, `{"metadata": {}}`, 403,
			"action [cluster:admin/xpack/security/cross_cluster/api_key/update] is unauthorized"},
		{"update by an API key", "PUT", "/_security/cross_cluster/api_key/" + cc, restKey, `{"metadata": {}}`, 400,
			"authentication via API key not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := esDo(t, tt.method, base+tt.path, tt.auth, body).Must(t, tt.status)
			if !strings.Contains(string(r.Raw), tt.reason) {
				t.Fatalf("answer %s lacks %q", r.Raw, tt.reason)
			}
		})
	}
}

func TestQueryAPIKeysFiltersSortsAndAggregatesByType(t *testing.T) {
	a := startApp(t)
	base := a.URL()
	sec, keys, _ := ccUsers(t, base)
	for _, n := range []string{"cc-1", "cc-2"} {
		esDo(t, "POST", base+"/_security/cross_cluster/api_key", sec, `{"name": "`+n+`", "access": {"search": [{"names": ["a"]}]}, "metadata": {"n": "`+n+`"}}`).Must(t, 200)
	}
	esDo(t, "POST", base+"/_security/api_key", sec, `{"name": "rest-1"}`).Must(t, 200)
	names := func(r esResp) string {
		var out []string
		for _, k := range r.Body["api_keys"].([]any) {
			out = append(out, k.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ query, want string }{
		{`{"query": {"term": {"type": "cross_cluster"}}, "sort": ["name"]}`, "cc-1,cc-2"},
		{`{"query": {"term": {"type": "rest"}}}`, "rest-1"},
		{`{"query": {"bool": {"must_not": {"term": {"type": "rest"}}, "filter": {"term": {"metadata.n": "cc-2"}}}}}`, "cc-2"},
		{`{"query": {"prefix": {"type": "cro"}}, "sort": ["name"]}`, "cc-1,cc-2"},
		{`{"query": {"simple_query_string": {"query": "-cross*", "fields": ["type"]}}}`, "rest-1"},
		{`{"sort": [{"type": {"order": "desc"}}, "name"]}`, "rest-1,cc-1,cc-2"},
	}
	for _, tt := range tests {
		r := esDo(t, "POST", base+"/_security/_query/api_key", keys, tt.query).Must(t, 200)
		if got := names(r); got != tt.want {
			t.Fatalf("%s: %s, want %s", tt.query, got, tt.want)
		}
	}
	r := esDo(t, "POST", base+"/_security/_query/api_key", keys, `{"size": 0, "aggs": {"types": {"terms": {"field": "type"}}}}`).Must(t, 200)
	jsonEq(t, "terms on type", r.Body["aggregations"], `{"types": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
		"buckets": [{"key": "cross_cluster", "doc_count": 2}, {"key": "rest", "doc_count": 1}]}}`)
}
