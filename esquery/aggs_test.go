package esquery

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
		{"terms ordered by a metric below", ``, `{"u": {"terms": {"field": "username", "order": {"c": "desc"}}, "aggs": {"c": {"cardinality": {"field": "metadata"}}}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
				{"key": "api_key_manager", "doc_count": 1, "c": {"value": 4}}, {"key": "api_key_user_1", "doc_count": 1, "c": {"value": 2}},
				{"key": "api_key_user_2", "doc_count": 2, "c": {"value": 2}}]}}`},
		{"terms ordered by a filter's count below", ``,
			`{"u": {"terms": {"field": "username", "size": 2, "order": [{"inv._count": "desc"}, {"_key": "asc"}]}, "aggs": {"inv": {"filter": {"term": {"invalidated": true}}}}}}`,
			`{"u": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 1, "buckets": [
				{"key": "api_key_user_2", "doc_count": 2, "inv": {"doc_count": 1}}, {"key": "api_key_manager", "doc_count": 1, "inv": {"doc_count": 0}}]}}`},
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
		{`{"a": {"terms": {"field": "metadata.*"}}}`, "illegal_argument_exception", "Field name pattern [metadata.*] is not allowed for querying or aggregation"},
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
		{`{"a": {"terms": {"field": "name", "order": {"t": "desc"}}, "aggs": {"t": {"terms": {"field": "name"}}}}}`, "illegal_argument_exception",
			"Invalid aggregation order path [t]. Buckets can only be sorted on a sub-aggregator path"},
		{`{"a": {"terms": {"field": "name", "order": {"c.max": "desc"}}, "aggs": {"c": {"cardinality": {"field": "name"}}}}}`, "illegal_argument_exception",
			"Invalid aggregation order path [c.max]"},
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

func TestCompositeAndRangeAggregationsAnswerElasticsearchShapes(t *testing.T) {
	for _, tt := range []struct{ name, aggs, want string }{
		{"composite first page", `{"c": {"composite": {"size": 2, "sources": [{"u": {"terms": {"field": "username"}}}]}}}`,
			`{"c": {"after_key": {"u": "api_key_user_1"}, "buckets": [
				{"key": {"u": "api_key_manager"}, "doc_count": 1}, {"key": {"u": "api_key_user_1"}, "doc_count": 1}]}}`},
		{"composite after a key", `{"c": {"composite": {"size": 2, "after": {"u": "api_key_user_1"}, "sources": [{"u": {"terms": {"field": "username"}}}]}}}`,
			`{"c": {"after_key": {"u": "api_key_user_2"}, "buckets": [{"key": {"u": "api_key_user_2"}, "doc_count": 2}]}}`},
		{"composite past the last key", `{"c": {"composite": {"after": {"u": "api_key_user_2"}, "sources": [{"u": {"terms": {"field": "username"}}}]}}}`,
			`{"c": {"buckets": []}}`},
		{"composite of two sources, missing first, descending", `{"c": {"composite": {"sources": [
				{"l": {"terms": {"field": "metadata.letter", "missing_bucket": true}}}, {"u": {"terms": {"field": "username", "order": "desc"}}}]}}}`,
			`{"c": {"after_key": {"l": "b", "u": "api_key_user_2"}, "buckets": [
				{"key": {"l": null, "u": "api_key_user_2"}, "doc_count": 1}, {"key": {"l": "a", "u": "api_key_user_1"}, "doc_count": 1},
				{"key": {"l": "a", "u": "api_key_manager"}, "doc_count": 1}, {"key": {"l": "b", "u": "api_key_user_2"}, "doc_count": 1}]}}`},
		{"composite without missing_bucket skips documents", `{"c": {"composite": {"sources": [{"l": {"terms": {"field": "metadata.letter", "order": "desc"}}}]}}}`,
			`{"c": {"after_key": {"l": "a"}, "buckets": [{"key": {"l": "b"}, "doc_count": 1}, {"key": {"l": "a"}, "doc_count": 2}]}}`},
		{"composite of booleans and dates", `{"c": {"composite": {"size": 1, "sources": [{"i": {"terms": {"field": "invalidated", "order": "desc"}}}, {"e": {"terms": {"field": "expiration"}}}]}}}`,
			`{"c": {"after_key": {"i": true, "e": 1795521600001}, "buckets": [{"key": {"i": true, "e": 1795521600001}, "doc_count": 1}]}}`},
		{"composite with sub-aggregations", `{"c": {"composite": {"sources": [{"u": {"terms": {"field": "username"}}}]}, "aggs": {"inv": {"filter": {"term": {"invalidated": true}}}}}}`,
			`{"c": {"after_key": {"u": "api_key_user_2"}, "buckets": [
				{"key": {"u": "api_key_manager"}, "doc_count": 1, "inv": {"doc_count": 0}}, {"key": {"u": "api_key_user_1"}, "doc_count": 1, "inv": {"doc_count": 0}},
				{"key": {"u": "api_key_user_2"}, "doc_count": 2, "inv": {"doc_count": 1}}]}}`},
		{"composite under a filter", `{"f": {"filter": {"term": {"invalidated": false}}, "aggs": {"c": {"composite": {"sources": [{"u": {"terms": {"field": "username"}}}]}}}}}`,
			`{"f": {"doc_count": 3, "c": {"after_key": {"u": "api_key_user_2"}, "buckets": [{"key": {"u": "api_key_manager"}, "doc_count": 1},
				{"key": {"u": "api_key_user_1"}, "doc_count": 1}, {"key": {"u": "api_key_user_2"}, "doc_count": 1}]}}}`},
		{"range of dates, sorted, to exclusive", `{"r": {"range": {"field": "expiration", "ranges": [{"from": "now+5d"}, {"to": "now+1d"}, {"from": "now+1d", "to": "now+5d"}]}}}`,
			`{"r": {"buckets": [
				{"key": "*-2026-11-24T12:00:00.000Z", "to": 1795521600000, "to_as_string": "2026-11-24T12:00:00.000Z", "doc_count": 0},
				{"key": "2026-11-24T12:00:00.000Z-2026-11-28T12:00:00.000Z", "from": 1795521600000, "from_as_string": "2026-11-24T12:00:00.000Z",
				 "to": 1795867200000, "to_as_string": "2026-11-28T12:00:00.000Z", "doc_count": 2},
				{"key": "2026-11-28T12:00:00.000Z-*", "from": 1795867200000, "from_as_string": "2026-11-28T12:00:00.000Z", "doc_count": 1}]}}`},
		{"date_range keyed with missing", `{"r": {"date_range": {"field": "expiration", "keyed": true, "missing": "now",
				"ranges": [{"key": "soon", "to": "now+2d"}, {"key": "later", "from": "now+2d"}]}}}`,
			`{"r": {"buckets": {"soon": {"to": 1795608000000, "to_as_string": "2026-11-25T12:00:00.000Z", "doc_count": 3},
				"later": {"from": 1795608000000, "from_as_string": "2026-11-25T12:00:00.000Z", "doc_count": 1}}}}`},
		{"date_range with sub-aggregations", `{"r": {"date_range": {"field": "creation", "ranges": [{"from": "now-1d/d"}]}, "aggs": {"u": {"cardinality": {"field": "username"}}}}}`,
			`{"r": {"buckets": [{"key": "2026-11-22T00:00:00.000Z-*", "from": 1795305600000, "from_as_string": "2026-11-22T00:00:00.000Z", "doc_count": 2, "u": {"value": 1}}]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := runAggs(t, ``, tt.aggs, false), canonical(t, tt.want); got != want {
				t.Errorf("%s\n got %s\nwant %s", tt.aggs, got, want)
			}
		})
	}
}

// Paging a composite aggregation with each after_key visits every
// combination once, in order, and then answers no after_key.
func TestCompositePagesVisitEveryKeyOnce(t *testing.T) {
	var seen []string
	after := ``
	for page := 0; page < 10; page++ {
		aggs := `{"c": {"composite": {"size": 2, "sources": [{"m": {"terms": {"field": "metadata"}}}]` + after + `}}}`
		var out struct {
			C struct {
				AfterKey map[string]any `json:"after_key"`
				Buckets  []struct {
					Key      map[string]any `json:"key"`
					DocCount int            `json:"doc_count"`
				} `json:"buckets"`
			} `json:"c"`
		}
		raw := runAggs(t, ``, aggs, false)
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatal(err)
		}
		for _, b := range out.C.Buckets {
			seen = append(seen, b.Key["m"].(string)+":"+strings.Repeat("|", b.DocCount))
		}
		if out.C.AfterKey == nil {
			if len(out.C.Buckets) != 0 {
				t.Fatalf("buckets without an after_key: %s", raw)
			}
			break
		}
		ak, _ := json.Marshal(out.C.AfterKey)
		after = `, "after": ` + string(ak)
	}
	want := "1:|,42:||,a:||,b:|,dev:|,staging:|"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("pages visited %s, want %s", got, want)
	}
}

func TestBadCompositeAndRangeAggregationsAreElasticsearchErrors(t *testing.T) {
	for _, tt := range []struct{ aggs, typ, reason string }{
		{`{"c": {"composite": {"sources": [{"h": {"geotile_grid": {"field": "creation"}}}]}}}`, "illegal_argument_exception",
			"Unsupported value source type for [h] of composite agg [c]."},
		{`{"c": {"composite": {"sources": [{"h": {"histogram": {"field": "name", "interval": 5}}}]}}}`, "illegal_argument_exception",
			"Field [name] of type [keyword] is not supported for aggregation [histogram]"},
		{`{"c": {"composite": {"sources": [{"h": {"histogram": {"field": "creation", "interval": 0}}}]}}}`, "illegal_argument_exception",
			"[interval] must be >0 for histogram aggregation [h]"},
		{`{"c": {"composite": {"sources": [{"h": {"date_histogram": {"field": "username", "calendar_interval": "day"}}}]}}}`, "illegal_argument_exception",
			"Field [username] of type [keyword] is not supported for aggregation [date_histogram]"},
		{`{"c": {"composite": {"sources": [{"h": {"date_histogram": {"field": "creation", "calendar_interval": "2d"}}}]}}}`, "illegal_argument_exception",
			"The supplied interval [2d] could not be parsed as a calendar interval."},
		{`{"c": {"composite": {"sources": [{"h": {"date_histogram": {"field": "creation", "fixed_interval": "1M"}}}]}}}`, "illegal_argument_exception",
			"failed to parse setting [date_histogram.fixedInterval] with value [1M]"},
		{`{"c": {"composite": {"sources": [{"h": {"date_histogram": {"field": "creation"}}}]}}}`, "illegal_argument_exception",
			"Invalid interval specified"},
		{`{"c": {"composite": {"sources": [{"h": {"terms": {"field": "creator"}}}]}}}`, "illegal_argument_exception", "Field [creator] is not allowed"},
		{`{"c": {"composite": {"sources": []}}}`, "illegal_argument_exception", "Composite [sources] cannot be null or empty"},
		{`{"c": {"composite": {"after": {"x": "y"}, "sources": [{"u": {"terms": {"field": "username"}}}]}}}`, "illegal_argument_exception", "Missing value for [after.u]"},
		{`{"c": {"composite": {"after": {"u": "a", "v": 1}, "sources": [{"u": {"terms": {"field": "username"}}}]}}}`, "illegal_argument_exception",
			"[after] has 2 value(s) but [sources] has 1"},
		{`{"c": {"composite": {"sources": [{"u": {"terms": {"field": "username"}}}, {"u": {"terms": {"field": "name"}}}]}}}`, "illegal_argument_exception",
			"Composite source names must be unique"},
		{`{"c": {"composite": {"sources": [{"u": {"terms": {"field": "username", "script": "x"}}}]}}}`, "illegal_argument_exception",
			"Unsupported script value source for [u] of composite agg [c]"},
		{`{"r": {"range": {"field": "name", "ranges": [{"to": "b"}]}}}`, "illegal_argument_exception",
			"Field [name] of type [keyword] is not supported for aggregation [range]"},
		{`{"r": {"date_range": {"field": "creation"}}}`, "illegal_argument_exception", "No [ranges] specified for the [r] aggregation"},
		{`{"r": {"date_range": {"field": "creation", "ranges": [{"from": "yesterday"}]}}}`, "", "failed to parse date field [yesterday]"},
		{`{"r": {"date_range": {"field": "creation", "ranges": [{"after": 1}]}}}`, "x_content_parse_exception", "[date_range] unknown field [after]"},
		{`{"r": {"date_range": {"field": "creation", "time_zone": "Europe/Paris", "ranges": [{"to": "now"}]}}}`, "illegal_argument_exception", "[time_zone]"},
	} {
		_, err := ParseAggs(json.RawMessage(tt.aggs), schema, now)
		if domain.KindOf(err) != domain.KindInvalid || domain.TypeOf(err) != tt.typ || !strings.Contains(domain.ReasonOf(err), tt.reason) {
			t.Errorf("%s: %v (type %q), want %s %q", tt.aggs, err, domain.TypeOf(err), tt.typ, tt.reason)
		}
	}
}

// many joins n copies of the aggregation made by one(i) into an object.
func many(n int, one func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = one(i)
	}
	return strings.Join(parts, ", ")
}

func nested(levels int) string {
	s := `{"m": {"missing": {"field": "name"}}}`
	for i := 1; i < levels; i++ {
		s = `{"f": {"filter": {"match_all": {}}, "aggs": ` + s + `}}`
	}
	return s
}

func filtersOf(n int, sub string) string {
	fs := many(n, func(int) string { return `{"match_all": {}}` })
	s := `{"filters": {"filters": [` + fs + `]}`
	if sub != "" {
		s += `, "aggs": {"s": ` + sub + `}`
	}
	return s + `}`
}

// Each limit is checked when the request is parsed: at the limit it is
// accepted, one over it is refused with a reason naming the limit.
func TestAggregationsOverTheirLimitsAreRefusedBeforeAnyKeyIsRead(t *testing.T) {
	valueCounts := func(n int) string {
		return `{` + many(n, func(i int) string { return `"v` + itoa(int64(i)) + `": {"value_count": {"field": "name"}}` }) + `}`
	}
	ranges := func(n int) string {
		return `{"r": {"range": {"field": "creation", "ranges": [` + many(n, func(i int) string { return `{"from": ` + itoa(int64(i)) + `}` }) + `]}}}`
	}
	sources := func(n int) string {
		return `{"c": {"composite": {"sources": [` + many(n, func(i int) string { return `{"s` + itoa(int64(i)) + `": {"terms": {"field": "name"}}}` }) + `]}}}`
	}
	termsIn := func(sub int) string {
		return `{"t": {"terms": {"field": "name", "size": 10000}, "aggs": {"s": {"terms": {"field": "username", "size": ` + itoa(int64(sub)) + `}}}}}`
	}
	for _, tt := range []struct{ name, ok, over, limit string }{
		{"aggregations", valueCounts(MaxAggregations), valueCounts(MaxAggregations + 1), "limit of 64"},
		{"depth", nested(MaxAggDepth), nested(MaxAggDepth + 1), "more than 4 levels"},
		{"terms size", `{"t": {"terms": {"field": "name", "size": 10000}}}`, `{"t": {"terms": {"field": "name", "size": 10001}}}`, "limit of 10000"},
		{"composite size", `{"c": {"composite": {"size": 10000, "sources": [{"n": {"terms": {"field": "name"}}}]}}}`,
			`{"c": {"composite": {"size": 10001, "sources": [{"n": {"terms": {"field": "name"}}}]}}}`, "limit of 10000"},
		{"filters", `{"f": ` + filtersOf(MaxAggEntries, "") + `}`, `{"f": ` + filtersOf(MaxAggEntries+1, "") + `}`, "limit of 64"},
		{"ranges", ranges(MaxAggEntries), ranges(MaxAggEntries + 1), "limit of 64"},
		{"composite sources", sources(MaxAggEntries), sources(MaxAggEntries + 1), "limit of 64"},
		{"buckets", termsIn(5), termsIn(6), "limit of 65536"},
		{"work per key", `{"f": ` + filtersOf(32, filtersOf(31, "")) + `}`, `{"f": ` + filtersOf(32, filtersOf(32, "")) + `}`, "limit of 1024"},
	} {
		if _, err := ParseAggs(json.RawMessage(tt.ok), schema, now); err != nil {
			t.Errorf("%s at the limit: %v", tt.name, err)
		}
		_, err := ParseAggs(json.RawMessage(tt.over), schema, now)
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(domain.ReasonOf(err), tt.limit) {
			t.Errorf("%s over the limit: %v, want a refusal naming the %s", tt.name, err, tt.limit)
		}
	}
}

// A key whose values would combine to more composite keys than the limit
// is refused rather than enumerated.
func TestCompositeCombinationsOfOneKeyAreBounded(t *testing.T) {
	list := func(p string, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = p + itoa(int64(i))
		}
		return out
	}
	d := &doc{id: "x", name: "x", meta: map[string]any{"a": list("a", 33), "b": list("b", 32)}}
	a, err := ParseAggs(json.RawMessage(`{"c": {"composite": {"sources": [{"a": {"terms": {"field": "metadata.a"}}}, {"b": {"terms": {"field": "metadata.b"}}}]}}}`), schema, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run([]*doc{d}, false); domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("33 x 32 combinations: %v", err)
	}
	d.meta["a"] = list("a", 32)
	if _, err := a.Run([]*doc{d}, false); err != nil {
		t.Fatalf("32 x 32 combinations: %v", err)
	}
}

// Over many documents in no order, composite pages of any size together
// answer exactly the sorted distinct keys with their counts (the page's
// bounded heap loses no count).
func TestCompositePagesAgreeWithCountingEveryKey(t *testing.T) {
	var ds []*doc
	want := map[string]int{}
	for i := 0; i < 600; i++ {
		u, l := "u"+itoa(int64(i*7%13)), "l"+itoa(int64(i*11%5))
		ds = append(ds, &doc{id: itoa(int64(i)), name: "n", user: u, meta: map[string]any{"l": l}})
		want[l+"/"+u]++
	}
	for _, size := range []int{1, 7, 64, 100} {
		got := map[string]int{}
		var order []string
		after := ""
		for page := 0; page < 1000; page++ {
			a, err := ParseAggs(json.RawMessage(`{"c": {"composite": {"size": `+itoa(int64(size))+`, "sources": [
				{"l": {"terms": {"field": "metadata.l"}}}, {"u": {"terms": {"field": "username"}}}]`+after+`}}}`), schema, now)
			if err != nil {
				t.Fatal(err)
			}
			out, err := a.Run(ds, false)
			if err != nil {
				t.Fatal(err)
			}
			c := out["c"].(map[string]any)
			for _, b := range c["buckets"].([]any) {
				b := b.(map[string]any)
				k := b["key"].(map[string]any)
				key := k["l"].(string) + "/" + k["u"].(string)
				got[key] += b["doc_count"].(int)
				order = append(order, key)
			}
			ak, ok := c["after_key"]
			if !ok {
				break
			}
			raw, _ := json.Marshal(ak)
			after = `, "after": ` + string(raw)
		}
		if !reflect.DeepEqual(got, want) || !sortedBySources(order) {
			t.Fatalf("size %d: %v in order %v, want %v", size, got, order, want)
		}
	}
}

func sortedBySources(keys []string) bool {
	for i := 1; i < len(keys); i++ {
		a, b := strings.SplitN(keys[i-1], "/", 2), strings.SplitN(keys[i], "/", 2)
		if a[0] > b[0] || a[0] == b[0] && a[1] >= b[1] {
			return false
		}
	}
	return true
}

// Histogram sources key each value by the start of its interval: a
// day's or a month's start in UTC, a fixed step's, a double's.
func TestCompositeHistogramSourcesKeyByIntervalStart(t *testing.T) {
	day := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli() }
	const dayMs = 86_400_000
	for _, tt := range []struct{ name, aggs, want string }{
		{"calendar days", `{"c": {"composite": {"size": 2, "sources": [{"d": {"date_histogram": {"field": "creation", "calendar_interval": "day"}}}]}}}`,
			fmt.Sprintf(`{"c": {"after_key": {"d": %d}, "buckets": [{"key": {"d": %d}, "doc_count": 1}, {"key": {"d": %d}, "doc_count": 1}]}}`,
				day(2026, 11, 21), day(2026, 11, 20), day(2026, 11, 21))},
		{"calendar days after a key", fmt.Sprintf(`{"c": {"composite": {"size": 5, "after": {"d": %d}, "sources": [{"d": {"date_histogram": {"field": "creation", "calendar_interval": "1d", "order": "desc"}}}]}}}`, day(2026, 11, 22)),
			fmt.Sprintf(`{"c": {"after_key": {"d": %d}, "buckets": [{"key": {"d": %d}, "doc_count": 1}, {"key": {"d": %d}, "doc_count": 1}]}}`,
				day(2026, 11, 20), day(2026, 11, 21), day(2026, 11, 20))},
		{"calendar months as text", `{"c": {"composite": {"sources": [{"m": {"date_histogram": {"field": "creation", "calendar_interval": "month", "format": "strict_date_optional_time"}}}]}}}`,
			`{"c": {"after_key": {"m": "2026-11-01T00:00:00.000Z"}, "buckets": [{"key": {"m": "2026-11-01T00:00:00.000Z"}, "doc_count": 4}]}}`},
		{"fixed two days with an offset", `{"c": {"composite": {"sources": [{"d": {"date_histogram": {"field": "creation", "fixed_interval": "2d", "offset": "+12h"}}}]}}}`,
			fmt.Sprintf(`{"c": {"after_key": {"d": %d}, "buckets": [{"key": {"d": %d}, "doc_count": 1}, {"key": {"d": %d}, "doc_count": 2}, {"key": {"d": %d}, "doc_count": 1}]}}`,
				day(2026, 11, 23)+dayMs/2, day(2026, 11, 19)+dayMs/2, day(2026, 11, 21)+dayMs/2, day(2026, 11, 23)+dayMs/2)},
		{"histogram of days, missing last", `{"c": {"composite": {"sources": [{"h": {"histogram": {"field": "expiration", "interval": 86400000, "missing_bucket": true, "missing_order": "last"}}}]}}}`,
			fmt.Sprintf(`{"c": {"after_key": {"h": null}, "buckets": [{"key": {"h": %d}, "doc_count": 2}, {"key": {"h": %d}, "doc_count": 1}, {"key": {"h": null}, "doc_count": 1}]}}`,
				day(2026, 11, 24), day(2026, 12, 3))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := runAggs(t, ``, tt.aggs, false), canonical(t, tt.want); got != want {
				t.Errorf("%s\n got %s\nwant %s", tt.aggs, got, want)
			}
		})
	}
	for _, f := range []float64{-2.5, -1, -0.0, 0, 1e-9, 3, 1e300} {
		if g := unsortableFloat(sortableFloat(f)); g != f {
			t.Errorf("%v comes back as %v", f, g)
		}
		if sortableFloat(f) > sortableFloat(f+1) && f < 1e300 {
			t.Errorf("%v sorts after %v", f, f+1)
		}
	}
}
