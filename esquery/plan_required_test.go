package esquery

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// TestRequiredDateBoundsHoldEveryMatch: the date bounds, existences and
// booleans a query requires are read as Parse compiles them (gt and lt
// exclusive, date math at the same now), from the query or its bool's
// must and filter, never from should or must_not.
func TestRequiredDateBoundsHoldEveryMatch(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	ms := now.UnixMilli()
	isDate := func(f string) bool { return f == "creation" || f == "expiration" }
	isBool := func(f string) bool { return f == "invalidated" }
	for _, tt := range []struct {
		query string
		want  Required
	}{
		{`{"range": {"creation": {"gt": 10, "lte": "20"}}}`, Required{Dates: []DateBound{{"creation", 11, 20}}}},
		{`{"range": {"expiration": {"gte": "now", "lt": "now+1d", "format": "x", "boost": 2}}}`,
			Required{Dates: []DateBound{{"expiration", ms, ms + 86_400_000 - 1}}}},
		{`{"range": {"creation": {"gte": 5}}}`, Required{Dates: []DateBound{{"creation", 5, math.MaxInt64}}}},
		{`{"range": {"creation": {"gt": 9223372036854775807}}}`, Required{Dates: []DateBound{{"creation", 1, 0}}}},
		{`{"term": {"creation": {"value": 7}}}`, Required{Dates: []DateBound{{"creation", 7, 7}}}},
		{`{"bool": {"filter": [{"exists": {"field": "expiration"}}, {"term": {"invalidated": "true"}}], "must": {"range": {"creation": {"lt": 3}}}}}`,
			Required{Dates: []DateBound{{"creation", math.MinInt64, 2}}, Exists: []string{"expiration"}, Bools: map[string]bool{"invalidated": true}}},
		{`{"bool": {"must": [{"term": {"invalidated": true}}, {"term": {"invalidated": false}}]}}`, Required{Bools: map[string]bool{"invalidated": true}}},
		{`{"bool": {"should": {"range": {"creation": {"gt": 1}}}, "must_not": {"exists": {"field": "expiration"}}}}`, Required{}},
		{`{"range": {"name": {"gt": "a"}}}`, Required{}},
		{`{"match_all": {}}`, Required{}},
	} {
		if got := DecodeTree([]byte(tt.query)).RequiredOf(now, isDate, isBool); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.query, got, tt.want)
		}
	}
	// A document matches a range exactly when its date lies within the
	// bounds read of it.
	schema := Schema[int64]{Field: func(string) (Field[int64], bool) {
		return Field[int64]{Type: Date, Millis: func(d int64) (int64, bool) { return d, true }}, true
	}}
	for _, q := range []string{`{"gt": 100}`, `{"gte": 100}`, `{"lt": 100}`, `{"lte": 100}`, `{"gt": 99, "lt": "101"}`, `{"gte": "now-1s", "lt": "now"}`} {
		raw := []byte(`{"range": {"creation": ` + q + `}}`)
		match, err := Parse(raw, schema, now)
		if err != nil {
			t.Fatal(err)
		}
		b := DecodeTree(raw).RequiredOf(now, isDate, isBool).Dates[0]
		for _, v := range []int64{98, 99, 100, 101, 102, ms - 1001, ms - 1000, ms - 1, ms} {
			if match(v) != (v >= b.Lo && v <= b.Hi) {
				t.Errorf("%s: %d matches %v, within [%d, %d] %v", raw, v, match(v), b.Lo, b.Hi, !match(v))
			}
		}
	}
}

// TestASoleLeafIsTheWholeQuery: a query amounts to one leaf when it is
// one, or a bool of nothing but that one required clause.
func TestASoleLeafIsTheWholeQuery(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{`{"term": {"metadata.team": "t1"}}`, "term"},
		{`{"bool": {"filter": {"range": {"creation": {"gt": 1}}}}}`, "range"},
		{`{"bool": {"must": [{"bool": {"filter": [{"exists": {"field": "expiration"}}]}}], "boost": 2}}`, "exists"},
		{`{"bool": {"must": [{"term": {"a": "b"}}], "filter": {"term": {"c": "d"}}}}`, ""},
		{`{"bool": {"filter": {"term": {"a": "b"}}, "must_not": {"term": {"c": "d"}}}}`, ""},
		{`{"bool": {"filter": {"term": {"a": "b"}}, "should": {"term": {"c": "d"}}}}`, ""},
		{`{"bool": {"filter": {"term": {"a": "b"}}, "minimum_should_match": 1}}`, ""},
		{`{"bool": {}}`, ""},
		{``, ""},
	} {
		if got, _ := DecodeTree([]byte(tt.query)).SoleLeaf(); got != tt.want {
			t.Errorf("%s: sole leaf %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestSimpleQueryStringsBoundTheirMatchesByTheirTokens: each required
// token of a simple_query_string (+, or every token with and) is a group
// of its alternatives over the fields, the optional tokens one group
// together; excluded tokens bound nothing; a token that matches no field
// leaves its group empty.
func TestSimpleQueryStringsBoundTheirMatchesByTheirTokens(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	kw := Field[int64]{Type: Keyword, Any: func(int64, func(string) bool) bool { return false }}
	date := Field[int64]{Type: Date, Millis: func(d int64) (int64, bool) { return d, true }}
	s := Schema[int64]{Field: func(n string) (Field[int64], bool) {
		if n == "creation" {
			return date, true
		}
		return kw, n == "name" || n == "metadata"
	}, Default: []string{"metadata", "name"}}
	name := func(v string, prefix bool) Alternative { return Alternative{Field: "name", Value: v, Prefix: prefix} }
	meta := func(v string) Alternative { return Alternative{Field: "metadata", Value: v} }
	for _, tt := range []struct {
		query string
		want  [][]Alternative
	}{
		{`{"simple_query_string": {"query": "a | b*", "fields": ["name"]}}`, [][]Alternative{{name("a", false), name("b", true)}}},
		{`{"simple_query_string": {"query": "+a b -c"}}`, [][]Alternative{{meta("a"), name("a", false)}, {meta("b"), name("b", false)}}},
		{`{"simple_query_string": {"query": "a b", "default_operator": "AND", "fields": ["name^3"]}}`,
			[][]Alternative{{name("a", false)}, {name("b", false)}}},
		{`{"simple_query_string": {"query": "-a", "fields": ["name"]}}`, nil},
		{`{"simple_query_string": {"query": "x* 12", "fields": ["creation"]}}`,
			[][]Alternative{{{Field: "creation", Type: Date, Value: "12", Millis: 12}}}},
		{`{"simple_query_string": {"query": "+x*", "fields": ["creation"]}}`, [][]Alternative{nil}},
		{`{"bool": {"should": {"simple_query_string": {"query": "a"}}}}`, nil},
	} {
		if got := RequiredAlternatives(DecodeTree([]byte(tt.query)), s, now); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.query, got, tt.want)
		}
	}
}

// TestValueMatchesTestValuesAsTheirQueries: the value test of a required
// prefix, wildcard or case-insensitive term accepts exactly the values its
// query matches; case-sensitive terms and unrequired clauses give none.
func TestValueMatchesTestValuesAsTheirQueries(t *testing.T) {
	s := Schema[string]{Field: func(string) (Field[string], bool) {
		return Field[string]{Type: Keyword, Any: func(d string, p func(string) bool) bool { return p(d) }}, true
	}}
	for _, q := range []string{`{"prefix": {"f": "ab"}}`, `{"prefix": {"f": {"value": "AB", "case_insensitive": true}}}`,
		`{"wildcard": {"f": "a*c?"}}`, `{"wildcard": {"f": {"wildcard": "A*", "case_insensitive": true}}}`,
		`{"bool": {"filter": {"term": {"f": {"value": "aBc", "case_insensitive": true}}}}}`,
		`{"range": {"f": {"gt": "a", "lte": "abc"}}}`, `{"range": {"f": {"gte": "ab", "lt": "b", "format": "x"}}}`} {
		ms := DecodeTree([]byte(q)).RequiredValueMatches()
		match, err := Parse([]byte(q), s, time.Time{})
		if err != nil || len(ms) != 1 || ms[0].Field != "f" {
			t.Fatalf("%s: %d value tests, %v", q, len(ms), err)
		}
		for _, v := range []string{"", "a", "ab", "abc", "ABC", "abcd", "aXcY", "b", "İ"} {
			if ms[0].Match(v) != match(v) {
				t.Errorf("%s: value %q passes %v, query matches %v", q, v, ms[0].Match(v), match(v))
			}
		}
	}
	for _, q := range []string{`{"term": {"f": "a"}}`, `{"bool": {"should": {"prefix": {"f": "a"}}}}`, `{"range": {"f": {"gt": {"x": 1}}}}`} {
		if ms := DecodeTree([]byte(q)).RequiredValueMatches(); len(ms) != 0 {
			t.Errorf("%s: %d value tests", q, len(ms))
		}
	}
}

// TestShouldClausesBoundTheMatchesWhenOneMustMatch: a bool's should
// clauses bound its matches when one of them must match (no must or
// filter, or minimum_should_match of 1 or more), nested in required
// clauses too.
func TestShouldClausesBoundTheMatchesWhenOneMustMatch(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  int // lists of clauses
	}{
		{`{"bool": {"should": [{"term": {"a": "b"}}, {"ids": {"values": ["x"]}}]}}`, 1},
		{`{"bool": {"filter": {"term": {"a": "b"}}, "should": {"term": {"c": "d"}}}}`, 0},
		{`{"bool": {"filter": {"term": {"a": "b"}}, "should": {"term": {"c": "d"}}, "minimum_should_match": "1"}}`, 1},
		{`{"bool": {"should": {"term": {"c": "d"}}, "minimum_should_match": 0}}`, 0},
		{`{"bool": {"must": {"bool": {"should": [{"term": {"c": "d"}}]}}, "must_not": {"bool": {"should": {"term": {"a": "b"}}}}}}`, 1},
		{`{"term": {"a": "b"}}`, 0},
	} {
		if got := DecodeTree([]byte(tt.query)).RequiredShoulds(); len(got) != tt.want {
			t.Errorf("%s: %d lists, want %d", tt.query, len(got), tt.want)
		}
	}
	got := DecodeTree([]byte(`{"bool": {"should": [{"range": {"creation": {"gt": 12345678901234567}}}, {"term": {"a": "b"}}]}}`)).RequiredShoulds()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("clauses %v", got)
	}
	if b := got[0][0].RequiredOf(time.Time{}, func(string) bool { return true }, func(string) bool { return false }); len(b.Dates) != 1 || b.Dates[0].Lo != 12345678901234568 {
		t.Errorf("the range clause reads %+v", b)
	}
}

// TestAConjunctionIsABoolOfRequiredAndExcludedClauses: a bool of must,
// filter and must_not clauses, nothing else, splits into those required
// and those excluded.
func TestAConjunctionIsABoolOfRequiredAndExcludedClauses(t *testing.T) {
	for _, tt := range []struct {
		query       string
		must, not   int
		conjunction bool
	}{
		{`{"bool": {"must_not": {"term": {"invalidated": true}}}}`, 0, 1, true},
		{`{"bool": {"filter": [{"prefix": {"name": "a"}}, {"term": {"a": "b"}}], "must": {"term": {"c": "d"}}, "must_not": [], "boost": 1}}`, 3, 0, true},
		{`{"bool": {"must_not": {"term": {"a": "b"}}, "should": {"term": {"c": "d"}}}}`, 0, 0, false},
		{`{"bool": {"filter": {"term": {"c": "d"}}, "minimum_should_match": 0}}`, 0, 0, false},
		{`{"term": {"a": "b"}}`, 0, 0, false},
	} {
		must, not, ok := DecodeTree([]byte(tt.query)).Conjunction()
		if ok != tt.conjunction || len(must) != tt.must || len(not) != tt.not {
			t.Errorf("%s: %d required, %d excluded (%v)", tt.query, len(must), len(not), ok)
		}
	}
}

// TestASimpleQueryStringOfOptionalTokensIsAnyOfThem: a query that is one
// simple_query_string of optional tokens is matched by exactly one of
// their alternatives; a required or excluded token, or and, is more.
func TestASimpleQueryStringOfOptionalTokensIsAnyOfThem(t *testing.T) {
	s := Schema[int64]{Field: func(n string) (Field[int64], bool) {
		return Field[int64]{Type: Keyword, Any: func(int64, func(string) bool) bool { return false }}, n == "name"
	}, Default: []string{"name"}}
	for _, tt := range []struct {
		query string
		n     int // alternatives; -1 for none
	}{
		{`{"simple_query_string": {"query": "a | b*"}}`, 2},
		{`{"bool": {"filter": {"simple_query_string": {"query": "a b", "fields": ["name"]}}}}`, 2},
		{`{"simple_query_string": {"query": "a +b"}}`, -1},
		{`{"simple_query_string": {"query": "a -b"}}`, -1},
		{`{"simple_query_string": {"query": "a", "default_operator": "and"}}`, -1},
		{`{"simple_query_string": {"query": ""}}`, -1},
		{`{"bool": {"should": {"simple_query_string": {"query": "a"}}}}`, -1},
	} {
		alts, ok := SoleAlternatives(DecodeTree([]byte(tt.query)), s, time.Time{})
		if n := len(alts); !ok && tt.n != -1 || ok && n != tt.n {
			t.Errorf("%s: %d alternatives (%v), want %d", tt.query, n, ok, tt.n)
		}
	}
}
