package es_test

import (
	"encoding/json"
	"strings"
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

// Kibana's way of listing every owner: a composite aggregation paged with
// after_key over real HTTP visits each user once, in order, with its
// count, and the last page answers no after_key.
func TestCompositeAggregationPagesThroughEveryOwner(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	esDo(t, "PUT", base+"/_security/role/own", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	var want []string
	for i := 0; i < 7; i++ {
		u := "user" + string(rune('a'+i))
		esDo(t, "PUT", base+"/_security/user/"+u, owner, `{"password": "`+u+`-password", "roles": ["own"]}`).Must(t, 200)
		for j := 0; j <= i%3; j++ {
			esDo(t, "POST", base+"/_security/api_key", basic(u+":"+u+"-password"), `{"name": "k"}`).Must(t, 200)
		}
		want = append(want, u+"="+string(rune('1'+i%3)))
	}
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		r := esDo(t, "POST", base+"/_security/_query/api_key?typed_keys=true", owner, `{"size": 0, "query": {"prefix": {"username": "user"}},
			"aggs": {"owners": {"composite": {"size": 3, "sources": [{"u": {"terms": {"field": "username"}}}]`+after+`}}}}`).Must(t, 200)
		c := aggsOf(t, r)["composite#owners"].(map[string]any)
		for _, b := range c["buckets"].([]any) {
			b := b.(map[string]any)
			got = append(got, b["key"].(map[string]any)["u"].(string)+"="+string(rune('0'+int(b["doc_count"].(float64)))))
		}
		ak, ok := c["after_key"]
		if !ok {
			break
		}
		raw, _ := json.Marshal(ak)
		after = `, "after": ` + string(raw)
	}
	if g, w := strings.Join(got, ","), strings.Join(want, ","); g != w {
		t.Fatalf("pages: %s, want %s", g, w)
	}
}

// The shapes of range, date_range and filters over real HTTP, as
// Elasticsearch answers them (keys, bounds as numbers and text).
func TestRangeAndFiltersAggregationsOverHTTP(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	for _, k := range []string{`{"name": "a", "expiration": "1d"}`, `{"name": "b", "expiration": "10d"}`, `{"name": "c"}`} {
		esDo(t, "POST", base+"/_security/api_key", owner, k).Must(t, 200)
	}
	r := esDo(t, "POST", base+"/_security/_query/api_key", owner, `{"size": 0, "aggs": {
		"exp": {"date_range": {"field": "expiration", "keyed": true, "ranges": [{"key": "week", "to": "now+7d"}, {"key": "later", "from": "now+7d"}]}},
		"soon": {"range": {"field": "expiration", "ranges": [{"to": "now+2d"}]}},
		"kinds": {"filters": {"other_bucket_key": "never", "filters": {"expiring": {"exists": {"field": "expiration"}}}}}}}`).Must(t, 200)
	ag := aggsOf(t, r)
	exp := ag["exp"].(map[string]any)["buckets"].(map[string]any)
	if exp["week"].(map[string]any)["doc_count"].(float64) != 1 || exp["later"].(map[string]any)["doc_count"].(float64) != 1 ||
		exp["week"].(map[string]any)["to_as_string"] == nil {
		t.Fatalf("date_range: %s", r.Raw)
	}
	soon := bucketsOf(t, ag["soon"])[0].(map[string]any)
	if soon["doc_count"].(float64) != 1 || !strings.HasPrefix(soon["key"].(string), "*-") || soon["to"] == nil {
		t.Fatalf("range: %s", r.Raw)
	}
	kinds := ag["kinds"].(map[string]any)["buckets"].(map[string]any)
	if kinds["expiring"].(map[string]any)["doc_count"].(float64) != 2 || kinds["never"].(map[string]any)["doc_count"].(float64) != 1 {
		t.Fatalf("filters: %s", r.Raw)
	}
}

// Every parameter Elasticsearch's specs and documentation list for the
// get and query API key APIs is accepted with a valid value, and refused
// with an invalid one.
func TestKeyAPIsAcceptEveryParameterOfTheirSpecs(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	k := esDo(t, "POST", base+"/_security/api_key", owner, `{"name": "k"}`).Must(t, 200)
	view := esDo(t, "GET", base+"/_security/api_key?id="+k.Str("id"), owner, nil).Must(t, 200).Body["api_keys"].([]any)[0].(map[string]any)
	for _, q := range []string{
		"?id=" + k.Str("id") + "&with_limited_by=true&with_profile_uid=true&active_only=true",
		"?name=k&username=" + view["username"].(string) + "&realm_name=" + view["realm"].(string),
		"?owner=true&active_only=false&with_profile_uid=false",
	} {
		r := esDo(t, "GET", base+"/_security/api_key"+q, owner, nil).Must(t, 200)
		if len(r.Body["api_keys"].([]any)) != 1 {
			t.Errorf("get %s: %s", q, r.Raw)
		}
	}
	for _, q := range []string{"?with_limited_by=true&with_profile_uid=true&typed_keys=true", "?with_limited_by&with_profile_uid&typed_keys"} {
		r := esDo(t, "POST", base+"/_security/_query/api_key"+q, owner, `{}`).Must(t, 200)
		if r.Body["total"].(float64) != 1 {
			t.Errorf("query %s: %s", q, r.Raw)
		}
	}
	for _, q := range []string{"?with_profile_uid=maybe", "?typed_keys=2", "?active_only=1"} {
		esDo(t, "POST", base+"/_security/_query/api_key"+q, owner, `{}`).Must(t, 400)
	}
}

// The aggregations Kibana's API keys page (8.15+) asks for its filters
// answer over real HTTP with the counts it shows.
func TestKibanaAPIKeysPageAggregationsAnswer(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	var ids []string
	for _, k := range []string{`{"name": "a", "metadata": {"managed": true}}`, `{"name": "b", "expiration": "1d"}`, `{"name": "c"}`} {
		ids = append(ids, esDo(t, "POST", base+"/_security/api_key", owner, k).Must(t, 200).Str("id"))
	}
	esDo(t, "DELETE", base+"/_security/api_key", owner, `{"ids": ["`+ids[2]+`"]}`).Must(t, 200)
	r := esDo(t, "POST", base+"/_security/_query/api_key?typed_keys=true", owner, `{"size": 0, "aggs": {
		"usernames": {"terms": {"field": "username", "size": 10000}}, "types": {"terms": {"field": "type"}},
		"invalidated": {"filter": {"term": {"invalidated": true}}}, "expired": {"filter": {"range": {"expiration": {"lte": "now"}}}},
		"managed": {"filter": {"term": {"metadata.managed": true}}}}}`).Must(t, 200)
	ag := aggsOf(t, r)
	count := func(name string) float64 { return ag[name].(map[string]any)["doc_count"].(float64) }
	users, types := bucketsOf(t, ag["sterms#usernames"]), bucketsOf(t, ag["sterms#types"])
	if len(users) != 1 || users[0].(map[string]any)["doc_count"].(float64) != 3 || len(types) != 1 ||
		count("filter#invalidated") != 1 || count("filter#expired") != 0 || count("filter#managed") != 1 {
		t.Fatalf("Kibana's aggregations: %s", r.Raw)
	}
}
