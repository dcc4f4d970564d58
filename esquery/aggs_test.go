package esquery

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// canonical re-encodes JSON so that two texts compare by value.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// runAggs answers aggs over the test documents that match query.
func runAggs(t *testing.T, query, aggs string, typed bool) string {
	t.Helper()
	q, err := Parse(json.RawMessage(query), schema, now)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAggs(json.RawMessage(aggs), schema, now)
	if err != nil {
		t.Fatalf("%s: %v", aggs, err)
	}
	var matched []*doc
	for _, d := range docs() {
		if q(d) {
			matched = append(matched, d)
		}
	}
	out, err := a.Run(matched, typed)
	if err != nil {
		t.Fatalf("%s: %v", aggs, err)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestAggregationsAnswerElasticsearchShapes(t *testing.T) {
	n := now.UnixMilli()
	_ = n
	for _, tt := range []struct{ name, query, aggs, want string }{
		{"terms by count then key", ``, `{"u": {"terms": {"field": "username"}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_user_2", "doc_count": 2}, {"key": "api_key_manager", "doc_count": 1}, {"key": "api_key_user_1", "doc_count": 1}]}}`},
		{"terms size counts the others", ``, `{"u": {"terms": {"field": "username", "size": 1}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 2, "buckets": [{"key": "api_key_user_2", "doc_count": 2}]}}`},
		{"terms by key descending", ``, `{"u": {"terms": {"field": "username", "order": {"_key": "desc"}}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_user_2", "doc_count": 2}, {"key": "api_key_user_1", "doc_count": 1}, {"key": "api_key_manager", "doc_count": 1}]}}`},
		{"terms by count ascending", ``, `{"u": {"terms": {"field": "username", "order": [{"_count": "asc"}, {"_key": "desc"}]}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_user_1", "doc_count": 1}, {"key": "api_key_manager", "doc_count": 1}, {"key": "api_key_user_2", "doc_count": 2}]}}`},
		{"terms missing value", ``, `{"l": {"terms": {"field": "metadata.letter", "missing": "none"}}}`,
			`{"l": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "a", "doc_count": 2}, {"key": "b", "doc_count": 1}, {"key": "none", "doc_count": 1}]}}`},
		{"terms over all metadata", ``, `{"m": {"terms": {"field": "metadata"}}}`,
			`{"m": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "42", "doc_count": 2}, {"key": "a", "doc_count": 2}, {"key": "1", "doc_count": 1},
				{"key": "b", "doc_count": 1}, {"key": "dev", "doc_count": 1}, {"key": "staging", "doc_count": 1}]}}`},
		{"terms include and exclude", ``, `{"m": {"terms": {"field": "metadata", "include": "[a-z].*", "exclude": ["dev"]}}}`,
			`{"m": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "a", "doc_count": 2}, {"key": "b", "doc_count": 1}, {"key": "staging", "doc_count": 1}]}}`},
		{"terms of a boolean are longs", ``, `{"i": {"terms": {"field": "invalidated"}}}`,
			`{"i": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": 0, "key_as_string": "false", "doc_count": 3}, {"key": 1, "key_as_string": "true", "doc_count": 1}]}}`},
		{"terms of a date are longs", `{"term": {"name": "other"}}`, `{"c": {"terms": {"field": "creation"}}}`,
			`{"c": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": 1795435200000, "key_as_string": "2026-11-23T12:00:00.000Z", "doc_count": 1}]}}`},
		{"terms over the matched documents only", `{"prefix": {"name": "user"}}`, `{"u": {"terms": {"field": "username"}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_user_1", "doc_count": 1}, {"key": "api_key_user_2", "doc_count": 1}]}}`},
		{"value_count counts values", ``, `{"t": {"value_count": {"field": "metadata.env.tags"}}, "n": {"value_count": {"field": "name"}}}`,
			`{"t": {"value": 2}, "n": {"value": 4}}`},
		{"cardinality counts distinct values", ``, `{"u": {"cardinality": {"field": "username"}}, "n": {"cardinality": {"field": "metadata.number"}}}`,
			`{"u": {"value": 3}, "n": {"value": 2}}`},
		{"missing counts documents without a value", ``, `{"e": {"missing": {"field": "expiration"}}, "l": {"missing": {"field": "metadata.letter"}}}`,
			`{"e": {"doc_count": 1}, "l": {"doc_count": 1}}`},
		{"missing with a sub-aggregation", ``, `{"e": {"missing": {"field": "expiration"}, "aggs": {"u": {"terms": {"field": "username"}}}}}`,
			`{"e": {"doc_count": 1, "u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": "api_key_user_2", "doc_count": 1}]}}}`},
		{"filter with terms below", ``, `{"f": {"filter": {"term": {"invalidated": false}}, "aggs": {"u": {"terms": {"field": "username"}}}}}`,
			`{"f": {"doc_count": 3, "u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_manager", "doc_count": 1}, {"key": "api_key_user_1", "doc_count": 1}, {"key": "api_key_user_2", "doc_count": 1}]}}}`},
		{"filters keyed by name", ``, `{"fs": {"filters": {"filters": {"inv": {"term": {"invalidated": true}}, "exp": {"range": {"expiration": {"lte": "now+1d"}}}}}}}`,
			`{"fs": {"buckets": {"exp": {"doc_count": 1}, "inv": {"doc_count": 1}}}}`},
		{"filters anonymous with the other bucket", ``, `{"fs": {"filters": {"filters": [{"prefix": {"name": "user"}}], "other_bucket": true}}}`,
			`{"fs": {"buckets": [{"doc_count": 2}, {"doc_count": 2}]}}`},
		{"filters not keyed list their keys in order", ``,
			`{"fs": {"filters": {"keyed": false, "other_bucket_key": "rest", "filters": {"z": {"term": {"name": "other"}}, "a": {"prefix": {"name": "user"}}}}}}`,
			`{"fs": {"buckets": [{"key": "a", "doc_count": 2}, {"key": "z", "doc_count": 1}, {"key": "rest", "doc_count": 1}]}}`},
		{"filters nested in terms", ``,
			`{"u": {"terms": {"field": "username", "size": 1}, "aggs": {"fs": {"filters": {"filters": {"inv": {"term": {"invalidated": true}}}}}}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 2, "buckets": [
				{"key": "api_key_user_2", "doc_count": 2, "fs": {"buckets": {"inv": {"doc_count": 1}}}}]}}`},
		{"meta is echoed", ``, `{"e": {"missing": {"field": "expiration"}, "meta": {"why": "ui"}}}`,
			`{"e": {"doc_count": 1, "meta": {"why": "ui"}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := runAggs(t, tt.query, tt.aggs, false), canonical(t, tt.want); got != want {
				t.Errorf("%s\n got %s\nwant %s", tt.aggs, got, want)
			}
		})
	}
}

func TestTypedKeysPrefixEachNameWithItsType(t *testing.T) {
	got := runAggs(t, ``, `{
		"u": {"terms": {"field": "username", "size": 1}, "aggs": {"c": {"cardinality": {"field": "name"}}}},
		"i": {"terms": {"field": "invalidated", "size": 1}},
		"v": {"value_count": {"field": "name"}}, "m": {"missing": {"field": "expiration"}},
		"f": {"filter": {"match_all": {}}}, "fs": {"filters": {"filters": [{"match_all": {}}]}}}`, true)
	var m map[string]any
	_ = json.Unmarshal([]byte(got), &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	want := []string{"cardinality#c", "filter#f", "filters#fs", "lterms#i", "missing#m", "sterms#u", "value_count#v"}
	bucket := m["sterms#u"].(map[string]any)["buckets"].([]any)[0].(map[string]any)
	if _, ok := bucket["cardinality#c"]; ok {
		keys = append(keys, "cardinality#c")
	}
	sortStrings(keys)
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("typed keys %v, want %v: %s", keys, want, got)
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestBadAggregationsAreElasticsearchErrors(t *testing.T) {
	for _, tt := range []struct{ aggs, typ, reason string }{
		{`{"a": {"avg": {"field": "name"}}}`, "illegal_argument_exception", "Unsupported API Keys agg [a] of type [avg]"},
		{`{"all_.security_docs": {"global": {}, "aggs": {"k": {"terms": {"field": "name"}}}}}`, "illegal_argument_exception",
			"Unsupported API Keys agg [all_.security_docs] of type [global]"},
		{`{"c": {"cardinality": {"field": "type"}}, "t": {"cumulative_cardinality": {"buckets_path": "c"}}}`, "illegal_argument_exception",
			"Unsupported aggregation of type [cumulative_cardinality]"},
		{`{"a": {"nope": {}}}`, "parsing_exception", "Unknown aggregation type [nope]"},
		{`{"a": {"terms": {"field": "api_key_hash"}}}`, "illegal_argument_exception", "Field [api_key_hash] is not allowed"},
		{`{"a": {"value_count": {"field": "runtime_key_type"}}}`, "illegal_argument_exception", "Field [runtime_key_type] is not allowed"},
		{`{"a": {"terms": {"script": "doc.x"}}}`, "illegal_argument_exception", "Unsupported script value source for [a] agg"},
		{`{"a": {"terms": {}}}`, "illegal_argument_exception", "Required one of fields [field, script]"},
		{`{"a": {}}`, "parsing_exception", "Missing definition for aggregation [a]"},
		{`{"a": {"terms": {"field": "name"}, "missing": {"field": "name"}}}`, "parsing_exception",
			"Found two aggregation type definitions in [a]: [missing] and [terms]"},
		{`{"a": {"cardinality": {"field": "name"}, "aggs": {"b": {"missing": {"field": "name"}}}}}`, "aggregation_initialization_exception",
			"Aggregator [a] of type [cardinality] cannot accept sub-aggregations"},
		{`{"a": {"terms": {"field": "name", "size": 0}}}`, "illegal_argument_exception", "[size] must be greater than 0. Found [0] in [a]"},
		{`{"a": {"terms": {"field": "name", "colour": 1}}}`, "x_content_parse_exception", "[terms] unknown field [colour]"},
		{`{"a>b": {"terms": {"field": "name"}}}`, "parsing_exception", "Invalid aggregation name [a>b]"},
		{`{"a": {"terms": {"field": "name", "order": {"c": "desc"}}}}`, "illegal_argument_exception", "Invalid aggregation order path [c]"},
		{`{"a": {"terms": {"field": "name", "min_doc_count": 0}}}`, "illegal_argument_exception", "[min_doc_count] must be 1 or more"},
		{`{"a": {"filter": {"fuzzy": {"name": "x"}}}}`, "", "Query type [fuzzy] is not currently supported in this context"},
		{`{"a": {"filters": {"filters": {"w": {"wildcard": {"creator.realm": "x"}}}}}}`, "", "Field [creator.realm] is not allowed"},
		{`{"a": {"terms": {"field": "name"}, "aggs": {"b": {"composite": {"sources": [{"n": {"terms": {"field": "name"}}}]}}}}}`,
			"illegal_argument_exception", "[composite] aggregation cannot be used with a parent aggregation of type: [TermsAggregatorFactory]"},
		{`[]`, "parsing_exception", "Expected [START_OBJECT] under [aggregations]"},
		{`{"a": 1}`, "parsing_exception", "Expected [START_OBJECT] under [a]"},
	} {
		_, err := ParseAggs(json.RawMessage(tt.aggs), schema, now)
		if domain.KindOf(err) != domain.KindInvalid || domain.TypeOf(err) != tt.typ || !strings.Contains(domain.ReasonOf(err), tt.reason) {
			t.Errorf("%s: %v (type %q), want %s %q", tt.aggs, err, domain.TypeOf(err), tt.typ, tt.reason)
		}
	}
}
