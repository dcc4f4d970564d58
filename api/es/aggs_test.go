package es_test

import (
	"encoding/json"
	"testing"
)

// aggsOf is the "aggregations" object of a query answer.
func aggsOf(t *testing.T, r esResp) map[string]any {
	t.Helper()
	a, ok := r.Body["aggregations"].(map[string]any)
	if !ok {
		t.Fatalf("no aggregations: %s", r.Raw)
	}
	return a
}

func bucketsOf(t *testing.T, agg any) []any {
	t.Helper()
	b, ok := agg.(map[string]any)["buckets"].([]any)
	if !ok {
		t.Fatalf("no bucket list in %v", agg)
	}
	return b
}

// Aggregations over real HTTP count only the keys the caller may see: a
// user with manage_own_api_key gets its own keys' terms and counts, the
// project's owner every key of the project, another project's keys never.
func TestQueryAggregationsCountOnlyTheCallersKeys(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	esDo(t, "PUT", base+"/_security/role/own", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	esDo(t, "PUT", base+"/_security/user/u1", owner, `{"password": "u1-password", "roles": ["own"]}`).Must(t, 200)
	u1 := basic("u1:u1-password")
	for _, k := range []struct{ auth, body string }{
		{u1, `{"name": "u1-a", "metadata": {"env": "prod"}}`},
		{u1, `{"name": "u1-b", "metadata": {"env": "dev"}, "expiration": "1d"}`},
		{owner, `{"name": "o-a", "metadata": {"env": "prod"}}`},
	} {
		esDo(t, "POST", base+"/_security/api_key", k.auth, k.body).Must(t, 200)
	}
	esDo(t, "POST", base+"/api/v1/orgs/default/projects", owner, `{"name": "other"}`).Must(t, 201)
	esDo(t, "POST", base+"/projects/other/_security/api_key", owner, `{"name": "elsewhere", "metadata": {"env": "prod"}}`).Must(t, 200)

	body := `{"size": 0, "aggs": {"users": {"terms": {"field": "username"}}, "envs": {"terms": {"field": "metadata.env"}},
		"names": {"value_count": {"field": "name"}}, "no_expiry": {"missing": {"field": "expiration"}}}}`
	mine := esDo(t, "POST", base+"/_security/_query/api_key?typed_keys", u1, body).Must(t, 200)
	ag := aggsOf(t, mine)
	if n := len(mine.Body["api_keys"].([]any)); n != 0 || mine.Body["total"].(float64) != 2 {
		t.Fatalf("size 0 answers no keys but the total: %s", mine.Raw)
	}
	if us := bucketsOf(t, ag["sterms#users"]); len(us) != 1 || us[0].(map[string]any)["key"] != "u1" {
		t.Fatalf("u1 sees another user's name: %s", mine.Raw)
	}
	if ag["value_count#names"].(map[string]any)["value"].(float64) != 2 || ag["missing#no_expiry"].(map[string]any)["doc_count"].(float64) != 1 {
		t.Fatalf("u1's counts: %s", mine.Raw)
	}
	all := esDo(t, "GET", base+"/_security/_query/api_key?with_profile_uid=true&typed_keys=false", owner, body).Must(t, 200)
	envs := bucketsOf(t, aggsOf(t, all)["envs"])
	want := `[{"doc_count":2,"key":"prod"},{"doc_count":1,"key":"dev"}]`
	if got, _ := json.Marshal(envs); string(got) != want {
		t.Fatalf("the project's envs: %s, want %s (another project's keys counted?)", got, want)
	}
	// aggregations is the other name of aggs.
	esDo(t, "POST", base+"/_security/_query/api_key", owner, `{"aggregations": {"n": {"cardinality": {"field": "name"}}}}`).Must(t, 200)
}

// Refused aggregations answer Elasticsearch's 400s, with its error types.
func TestRefusedAggregationsAnswerElasticsearchErrors(t *testing.T) {
	a := startApp(t)
	owner, url := basic(ownerAuth), a.URL()+"/_security/_query/api_key"
	for _, tt := range []struct{ body, typ, reason string }{
		{`{"aggs": {"g": {"global": {}}}}`, "illegal_argument_exception", "Unsupported API Keys agg [g] of type [global]"},
		{`{"aggs": {"x": {"value_count": {"field": "runtime_key_type"}}}}`, "illegal_argument_exception", "Field [runtime_key_type] is not allowed for querying or aggregation"},
		{`{"aggs": {"x": {"nope": {}}}}`, "parsing_exception", "Unknown aggregation type [nope]"},
		{`{"aggs": {"x": {"terms": {"field": "name", "size": 10001}}}}`, "action_request_validation_exception", "[size] of [x] is 10001, over the limit of 10000"},
		{`{"aggs": {}, "aggregations": {}}`, "action_request_validation_exception", "Found two aggregation definitions: [aggs] and [aggregations]"},
	} {
		r := esDo(t, "POST", url, owner, tt.body).Must(t, 400)
		e := r.Body["error"].(map[string]any)
		if e["type"] != tt.typ || e["reason"] != tt.reason {
			t.Errorf("%s: %s, want %s %q", tt.body, r.Raw, tt.typ, tt.reason)
		}
	}
	esDo(t, "POST", url+"?typed_keys=maybe", owner, `{}`).Must(t, 400)
}
