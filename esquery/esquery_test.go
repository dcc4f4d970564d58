package esquery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

type doc struct {
	id, name, user string
	created        int64
	expires        int64 // 0: never
	invalidated    bool
	meta           map[string]any
}

var schema = Schema[*doc]{
	Field:     field,
	SortField: field,
	ID:        func(d *doc) string { return d.id },
	Default:   []string{"metadata", "name", "username"},
}

func keyword(get func(*doc) string) Field[*doc] {
	return Field[*doc]{Type: Keyword, Any: func(d *doc, p func(string) bool) bool { return p(get(d)) }}
}

func field(name string) (Field[*doc], bool) {
	switch name {
	case "name":
		return keyword(func(d *doc) string { return d.name }), true
	case "username":
		return keyword(func(d *doc) string { return d.user }), true
	case "creation":
		return Field[*doc]{Type: Date, Millis: func(d *doc) (int64, bool) { return d.created, true }}, true
	case "expiration":
		return Field[*doc]{Type: Date, Millis: func(d *doc) (int64, bool) { return d.expires, d.expires != 0 }}, true
	case "invalidated":
		return Field[*doc]{Type: Boolean, Bool: func(d *doc) bool { return d.invalidated }}, true
	}
	if name == "metadata" || strings.HasPrefix(name, "metadata.") {
		path := strings.TrimPrefix(strings.TrimPrefix(name, "metadata"), ".")
		return Field[*doc]{Type: Keyword, Any: func(d *doc, p func(string) bool) bool {
			return AnyMetadata(domain.FlattenMetadata(d.meta, nil), path, p)
		}}, true
	}
	return Field[*doc]{}, false
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func docs() []*doc {
	day := int64(24 * time.Hour / time.Millisecond)
	n := now.UnixMilli()
	return []*doc{
		{id: "a", name: "manager-api-key", user: "api_key_manager", created: n - 3*day, expires: n + 10*day,
			meta: map[string]any{"letter": "a", "number": json.Number("42"), "env": map[string]any{"tags": []any{"dev", "staging"}}}},
		{id: "b", name: "user1-api-key", user: "api_key_user_1", created: n - 2*day, expires: n + day, meta: map[string]any{"letter": "a", "number": json.Number("1")}},
		{id: "c", name: "user2-api-key", user: "api_key_user_2", created: n - day, expires: n + day + 1, invalidated: true, meta: map[string]any{"letter": "b", "number": json.Number("42")}},
		{id: "d", name: "other", user: "api_key_user_2", created: n, meta: map[string]any{}},
	}
}

func ids(t *testing.T, q string) string {
	t.Helper()
	cq, err := Parse(json.RawMessage(q), schema, now)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for _, d := range docs() {
		if cq(d) {
			out = append(out, d.id)
		}
	}
	return strings.Join(out, ",")
}

func TestQueries(t *testing.T) {
	for _, tt := range []struct{ q, want string }{
		{``, "a,b,c,d"},
		{`{"match_all": {}}`, "a,b,c,d"},
		{`{"match_none": {}}`, ""},
		{`{"wildcard": {"name": "user*"}}`, "b,c"},
		{`{"wildcard": {"name": {"value": "USER*", "case_insensitive": true}}}`, "b,c"},
		{`{"wildcard": {"name": "*key"}}`, "a,b,c"},
		{`{"term": {"name": "other"}}`, "d"},
		{`{"term": {"name": {"value": "OTHER", "case_insensitive": true}}}`, "d"},
		{`{"terms": {"username": ["api_key_user_1", "api_key_manager"]}}`, "a,b"},
		{`{"prefix": {"username": "api_key_user"}}`, "b,c,d"},
		{`{"match": {"name": "other"}}`, "d"},
		{`{"match": {"name": {"query": "other"}}}`, "d"},
		{`{"ids": {"values": ["a", "d", "zz"]}}`, "a,d"},
		{`{"exists": {"field": "expiration"}}`, "a,b,c"},
		{`{"exists": {"field": "metadata.letter"}}`, "a,b,c"},
		{`{"term": {"metadata.number": 42}}`, "a,c"},
		{`{"term": {"metadata.letter": "a"}}`, "a,b"},
		{`{"term": {"metadata.env.tags": "staging"}}`, "a"},
		{`{"term": {"metadata.env": "staging"}}`, ""},
		{`{"term": {"metadata": "staging"}}`, "a"},
		{`{"term": {"invalidated": true}}`, "c"},
		{`{"term": {"invalidated": "false"}}`, "a,b,d"},
		{`{"range": {"creation": {"gte": "now-2d"}}}`, "b,c,d"},
		{`{"range": {"creation": {"gt": "now-2d", "lt": "now"}}}`, "c"},
		{`{"range": {"expiration": {"lte": "now+1d"}}}`, "b"},
		{`{"range": {"name": {"gte": "o", "lt": "u"}}}`, "d"},
		{`{"bool": {"must": [{"prefix": {"name": "user"}}], "must_not": {"term": {"invalidated": true}}}}`, "b"},
		{`{"bool": {"should": [{"term": {"name": "other"}}, {"term": {"metadata.letter": "b"}}]}}`, "c,d"},
		{`{"bool": {"filter": {"prefix": {"name": "user"}}, "should": [{"term": {"metadata.letter": "b"}}], "minimum_should_match": 1}}`, "c"},
		{`{"bool": {}}`, "a,b,c,d"},
		{`{"simple_query_string": {"query": "other"}}`, "d"},
		{`{"simple_query_string": {"query": "user* -user2-api-key", "fields": ["name"]}}`, "b"},
		{`{"simple_query_string": {"query": "staging"}}`, "a"},
		{`{"simple_query_string": {"query": "a 42", "fields": ["metadata.*"], "default_operator": "and"}}`, "a"},
		{`{"simple_query_string": {"query": "\"manager-api-key\" | other", "fields": ["name"]}}`, "a,d"},
	} {
		if got := ids(t, tt.q); got != tt.want {
			t.Errorf("%s\n got [%s], want [%s]", tt.q, got, tt.want)
		}
	}
}

func TestBadQueriesAreClientErrors(t *testing.T) {
	for _, q := range []string{
		`{"fuzzy": {"name": "x"}}`, `{"term": {"api_key_hash": "x"}}`, `{"term": {}}`, `{"term": {"a": 1, "b": 2}}`,
		`[]`, `{"match_all": {}, "term": {"name": "x"}}`, `{"prefix": {"creation": "1"}}`, `{"range": {"creation": {"gte": "yesterday"}}}`,
		`{"range": {"creation": {"around": 1}}}`, `{"bool": {"must": [{"nope": {}}]}}`, `{"bool": {"minimum_should_match": "50%"}}`,
		`{"term": {"name": {"value": "x", "fuzziness": 2}}}`, `{"ids": {"values": [1]}}`, `{"exists": {}}`, `{"term": {"invalidated": "maybe"}}`,
		`{"simple_query_string": {"fields": ["name"]}}`, `{"term": {"name": ["x"]}}`, `{"term"`,
		`{"range": {"creation": {"gte": "now-1d", "format": 5}}}`, `{"range": {"creation": {"gte": "now-1d", "boost": "x"}}}`,
		strings.Repeat(`{"bool": {"must": `, 40) + `{"match_all": {}}` + strings.Repeat(`}}`, 40),
	} {
		_, err := Parse(json.RawMessage(q), schema, now)
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: %v, want an invalid-request error", q, err)
		}
	}
}

func sorted(t *testing.T, sortJSON, after string) (string, []any) {
	t.Helper()
	s, err := ParseSort(json.RawMessage(sortJSON), schema)
	if err != nil {
		t.Fatal(err)
	}
	ds := docs()
	keys := make([]Key, len(ds))
	for i, d := range ds {
		keys[i] = s.Key(d)
	}
	idx := []int{0, 1, 2, 3}
	for i := range idx {
		for j := i + 1; j < len(idx); j++ {
			if s.Compare(keys[idx[j]], keys[idx[i]]) < 0 {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	var out []string
	var firstSort []any
	var ak Key
	if after != "" {
		if ak, err = s.After(json.RawMessage(after), now); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range idx {
		if ak != nil && s.Compare(keys[i], ak) <= 0 {
			continue
		}
		if firstSort == nil {
			firstSort = s.JSON(keys[i])
		}
		out = append(out, ds[i].id)
	}
	return strings.Join(out, ","), firstSort
}

func TestSortAndSearchAfter(t *testing.T) {
	for _, tt := range []struct{ sort, after, want string }{
		{`"name"`, "", "a,d,b,c"},
		{`[{"creation": {"order": "desc"}}]`, "", "d,c,b,a"},
		{`["expiration", "username"]`, "", "b,c,a,d"},
		{`[{"expiration": "desc"}]`, "", "a,c,b,d"},
		{`["invalidated", "name"]`, "", "a,d,b,c"},
	} {
		if got, _ := sorted(t, tt.sort, tt.after); got != tt.want {
			t.Errorf("sort %s: %s, want %s", tt.sort, got, tt.want)
		}
	}
	_, first := sorted(t, `["expiration", "username"]`, "")
	exp := first[0].(int64)
	after, _ := json.Marshal([]any{strings.TrimSpace(json.Number(itoa(exp)).String()), first[1]})
	if got, _ := sorted(t, `["expiration", "username"]`, string(after)); got != "c,a,d" {
		t.Fatalf("search_after %s: %s", after, got)
	}
	if got, s := sorted(t, `[{"expiration": "asc"}]`, `[9223372036854775807]`); got != "" || s != nil {
		t.Fatalf("nothing sorts after a missing date: %s", got)
	}
	for _, bad := range []string{`"api_key_hash"`, `[{"name": "up"}]`, `[{"name": {"order": "asc", "x": 1}}]`, `[1]`, `[{"name": {"order": 3}}]`} {
		if _, err := ParseSort(json.RawMessage(bad), schema); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("sort %s: %v", bad, err)
		}
	}
	s, _ := ParseSort(json.RawMessage(`["name"]`), schema)
	if _, err := s.After(json.RawMessage(`["a", "b"]`), now); err == nil {
		t.Error("search_after must have one value per sort field")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestDateMath(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want time.Time
	}{
		{"now", now},
		{"now-1d", now.AddDate(0, 0, -1)},
		{"now+2h/d", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{"now/M", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-01-01", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-01-01||+1M", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-01-01T10:00:00Z", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		{json.Number("1700000000000"), time.UnixMilli(1700000000000)},
		{"1700000000000", time.UnixMilli(1700000000000)},
	} {
		got, err := ParseMillis(tt.in, now)
		if err != nil || got != tt.want.UnixMilli() {
			t.Errorf("%v: %v %v, want %v", tt.in, time.UnixMilli(got).UTC(), err, tt.want)
		}
	}
	for _, bad := range []any{"now-", "now+1x", "soon", true, "2026-13-01"} {
		if _, err := ParseMillis(bad, now); err == nil {
			t.Errorf("%v parsed", bad)
		}
	}
}

// Evaluating the common keyword queries allocates nothing per document
// (they run for every key of a project, in queries and in filter
// aggregations alike).
func TestKeywordQueriesAllocateNothingPerDocument(t *testing.T) {
	d := docs()[0]
	for _, q := range []string{
		`{"term": {"name": "other"}}`, `{"term": {"name": {"value": "OTHER", "case_insensitive": true}}}`,
		`{"prefix": {"name": "man"}}`, `{"prefix": {"name": {"value": "MAN", "case_insensitive": true}}}`,
		`{"wildcard": {"name": {"value": "*API*", "case_insensitive": true}}}`, `{"range": {"name": {"gte": "a", "lt": "n"}}}`,
		`{"exists": {"field": "name"}}`, `{"simple_query_string": {"query": "man* other", "fields": ["name"]}}`,
	} {
		cq, err := Parse(json.RawMessage(q), schema, now)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { cq(d) }); n != 0 {
			t.Errorf("%s: %v allocations per document", q, n)
		}
	}
}

// A keyword field read by One sorts by that value without a predicate
// (no closure a document, where sorting a million candidates reads them
// all), in both directions as Any would.
func TestASingleValuedKeywordSortsByItsOneValue(t *testing.T) {
	one := Schema[*doc]{Field: field, SortField: func(name string) (Field[*doc], bool) {
		f, ok := field(name)
		if name == "name" {
			f.One = func(d *doc) string { return d.name }
			f.Any = nil // a sort that still read Any would panic
		}
		return f, ok
	}}
	for _, raw := range []string{`["name"]`, `[{"name": "desc"}, "creation"]`} {
		viaOne, err := ParseSort(json.RawMessage(raw), one)
		if err != nil {
			t.Fatal(err)
		}
		viaAny, _ := ParseSort(json.RawMessage(raw), schema)
		for _, d := range docs() {
			if a, b := viaOne.Key(d), viaAny.Key(d); viaOne.Compare(a, b) != 0 || a[0] != b[0] {
				t.Errorf("%s of %s: One gives %v, Any %v", raw, d.id, a, b)
			}
		}
	}
}
