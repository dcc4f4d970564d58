package esquery

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Query is a compiled query: it reports whether a document matches.
type Query[D any] func(D) bool

// maxDepth bounds the nesting of bool queries.
const maxDepth = 32

// Parse compiles a query given as JSON; an absent or null query matches
// everything. now anchors date math ("now-1d").
func Parse[D any](raw json.RawMessage, s Schema[D], now time.Time) (Query[D], error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return func(D) bool { return true }, nil
	}
	v, err := decode(raw)
	if err != nil {
		return nil, domain.Invalid("failed to parse query: %s", domain.JSONReason(err))
	}
	c := &compiler[D]{s: s, now: now}
	return c.query(v, 0)
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

type compiler[D any] struct {
	s   Schema[D]
	now time.Time
	// compiled counts the queries compiled: each is evaluated against
	// every record, so their number bounds a request's work.
	compiled int
}

func (c *compiler[D]) query(v any, depth int) (Query[D], error) {
	if depth > maxDepth {
		return nil, domain.Invalid("query is nested more than %d levels deep", maxDepth)
	}
	if c.compiled++; c.compiled > domain.MaxQueryClauses {
		return nil, domain.Invalid("the query holds more clauses than the limit of %d", domain.MaxQueryClauses)
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, domain.Invalid("failed to parse query: a query is an object with exactly one query type")
	}
	for typ, body := range m {
		switch typ {
		case "match_all":
			return func(D) bool { return true }, nil
		case "match_none":
			return func(D) bool { return false }, nil
		case "bool":
			return c.boolQuery(body, depth)
		case "ids":
			return c.ids(body)
		case "term", "match", "match_phrase":
			return c.leaf(typ, body, c.term)
		case "terms":
			return c.terms(body)
		case "prefix":
			return c.leaf(typ, body, c.prefix)
		case "wildcard":
			return c.leaf(typ, body, c.wildcard)
		case "range":
			return c.leaf(typ, body, c.rangeQuery)
		case "exists":
			return c.exists(body)
		case "simple_query_string":
			return c.simpleQueryString(body)
		}
		return nil, domain.Invalid("Query type [%s] is not currently supported in this context", typ)
	}
	panic("unreachable")
}

// field resolves a field a query names.
func (c *compiler[D]) field(name string) (Field[D], error) {
	if f, ok := c.s.Field(name); ok {
		return f, nil
	}
	return Field[D]{}, domain.Invalid("Field [%s] is not allowed for querying or aggregation", name)
}

// leaf reads {field: value} or {field: {options}} and builds the query.
func (c *compiler[D]) leaf(typ string, body any, build func(typ string, f Field[D], name string, arg any) (Query[D], error)) (Query[D], error) {
	m, ok := body.(map[string]any)
	var name string
	var arg any
	n := 0
	for k, v := range m {
		if k == "boost" || k == "_name" {
			continue
		}
		name, arg = k, v
		n++
	}
	if !ok || n != 1 {
		return nil, domain.Invalid("[%s] query expects an object with one field", typ)
	}
	f, err := c.field(name)
	if err != nil {
		return nil, err
	}
	return build(typ, f, name, arg)
}

// options splits a leaf's argument into its value and options: the value
// itself, or an object holding it under key (among allowed options).
func options(typ string, arg any, key string, allowed ...string) (any, map[string]any, error) {
	m, ok := arg.(map[string]any)
	if !ok {
		return arg, nil, nil
	}
	for k := range m {
		if k != key && k != "boost" && k != "_name" && !contains(allowed, k) {
			return nil, nil, domain.Invalid("[%s] query does not support [%s]", typ, k)
		}
	}
	v, ok := m[key]
	if !ok {
		return nil, nil, domain.Invalid("[%s] query needs [%s]", typ, key)
	}
	return v, m, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func caseInsensitive(opts map[string]any) bool {
	b, _ := opts["case_insensitive"].(bool)
	return b
}

func (c *compiler[D]) term(typ string, f Field[D], name string, arg any) (Query[D], error) {
	key := "value"
	if typ != "term" {
		key = "query"
	}
	v, opts, err := options(typ, arg, key, "case_insensitive", "operator", "analyzer", "zero_terms_query", "lenient")
	if err != nil {
		return nil, err
	}
	return c.equals(f, name, v, caseInsensitive(opts))
}

// equals matches documents whose field equals v.
func (c *compiler[D]) equals(f Field[D], name string, v any, ci bool) (Query[D], error) {
	switch f.Type {
	case Date:
		ms, err := ParseMillis(v, c.now)
		if err != nil {
			return nil, err
		}
		return func(d D) bool { m, ok := f.Millis(d); return ok && m == ms }, nil
	case Boolean:
		b, err := parseBool(v, name)
		if err != nil {
			return nil, err
		}
		return func(d D) bool { return f.Bool(d) == b }, nil
	}
	s, ok := KeywordOf(v)
	if !ok {
		return nil, domain.Invalid("field [%s] expects a string, number or boolean value", name)
	}
	if err := valueWithin(name, s); err != nil {
		return nil, err
	}
	if ci {
		return holds(f, func(x string) bool { return strings.EqualFold(x, s) }), nil
	}
	return holds(f, func(x string) bool { return x == s }), nil
}

func parseBool(v any, name string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return false, domain.Invalid("field [%s] expects true or false, not [%v]", name, v)
}

func (c *compiler[D]) terms(body any) (Query[D], error) {
	return c.leaf("terms", body, func(_ string, f Field[D], name string, arg any) (Query[D], error) {
		list, ok := arg.([]any)
		if !ok {
			return nil, domain.Invalid("[terms] query expects a list of values for field [%s]", name)
		}
		var qs []Query[D]
		for _, v := range list {
			q, err := c.equals(f, name, v, false)
			if err != nil {
				return nil, err
			}
			qs = append(qs, q)
		}
		return anyOf(qs), nil
	})
}

func (c *compiler[D]) keywordOnly(typ string, f Field[D], name string) error {
	if f.Type != Keyword {
		return domain.Invalid("[%s] query is not supported on field [%s] of type [%s]", typ, name, f.Type)
	}
	return nil
}

func (c *compiler[D]) prefix(typ string, f Field[D], name string, arg any) (Query[D], error) {
	if err := c.keywordOnly(typ, f, name); err != nil {
		return nil, err
	}
	v, opts, err := options(typ, arg, "value", "case_insensitive", "rewrite")
	if err != nil {
		return nil, err
	}
	p, ok := v.(string)
	if !ok {
		return nil, domain.Invalid("[prefix] query expects a string for field [%s]", name)
	}
	if err := valueWithin(name, p); err != nil {
		return nil, err
	}
	if caseInsensitive(opts) {
		p = strings.ToLower(p)
		return holds(f, func(x string) bool { return strings.HasPrefix(strings.ToLower(x), p) }), nil
	}
	return holds(f, func(x string) bool { return strings.HasPrefix(x, p) }), nil
}

func (c *compiler[D]) wildcard(typ string, f Field[D], name string, arg any) (Query[D], error) {
	if err := c.keywordOnly(typ, f, name); err != nil {
		return nil, err
	}
	key := "value"
	if m, ok := arg.(map[string]any); ok {
		if _, has := m["wildcard"]; has {
			key = "wildcard"
		}
	}
	v, opts, err := options(typ, arg, key, "case_insensitive", "rewrite")
	if err != nil {
		return nil, err
	}
	p, ok := v.(string)
	if !ok {
		return nil, domain.Invalid("[wildcard] query expects a string for field [%s]", name)
	}
	if err := valueWithin(name, p); err != nil {
		return nil, err
	}
	// Compiled once, matched against every value in time linear in it.
	if caseInsensitive(opts) {
		w := domain.CompileWildcard(strings.ToLower(p))
		return holds(f, func(x string) bool { return w.Match(strings.ToLower(x)) }), nil
	}
	w := domain.CompileWildcard(p)
	return func(d D) bool { return f.Any(d, w.Match) }, nil
}

func (c *compiler[D]) rangeQuery(typ string, f Field[D], name string, arg any) (Query[D], error) {
	m, ok := arg.(map[string]any)
	if !ok {
		return nil, domain.Invalid("[range] query expects an object of bounds for field [%s]", name)
	}
	var checks []func(cmp int) bool
	var bounds []any
	for k, v := range m {
		switch k {
		case "gt":
			checks = append(checks, func(c int) bool { return c > 0 })
		case "gte":
			checks = append(checks, func(c int) bool { return c >= 0 })
		case "lt":
			checks = append(checks, func(c int) bool { return c < 0 })
		case "lte":
			checks = append(checks, func(c int) bool { return c <= 0 })
		case "format", "time_zone", "_name", "relation":
			if _, ok := v.(string); !ok {
				return nil, domain.Invalid("[range] query's [%s] must be a string", k)
			}
			continue
		case "boost":
			if _, ok := v.(float64); !ok {
				return nil, domain.Invalid("[range] query's [boost] must be a number")
			}
			continue
		default:
			return nil, domain.Invalid("[range] query does not support [%s]", k)
		}
		bounds = append(bounds, v)
	}
	switch f.Type {
	case Date:
		ms := make([]int64, len(bounds))
		for i, b := range bounds {
			var err error
			if ms[i], err = ParseMillis(b, c.now); err != nil {
				return nil, err
			}
		}
		return func(d D) bool {
			v, ok := f.Millis(d)
			if !ok {
				return false
			}
			for i, check := range checks {
				if !check(cmp.Compare(v, ms[i])) {
					return false
				}
			}
			return true
		}, nil
	case Boolean:
		return nil, domain.Invalid("[range] query is not supported on field [%s] of type [boolean]", name)
	}
	strs := make([]string, len(bounds))
	for i, b := range bounds {
		s, ok := KeywordOf(b)
		if !ok {
			return nil, domain.Invalid("[range] query expects scalar bounds for field [%s]", name)
		}
		strs[i] = s
	}
	return holds(f, func(x string) bool {
		for i, check := range checks {
			if !check(strings.Compare(x, strs[i])) {
				return false
			}
		}
		return true
	}), nil
}

func (c *compiler[D]) exists(body any) (Query[D], error) {
	m, ok := body.(map[string]any)
	name, _ := m["field"].(string)
	if !ok || name == "" {
		return nil, domain.Invalid("[exists] query needs [field]")
	}
	f, err := c.field(name)
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case Date:
		return func(d D) bool { _, ok := f.Millis(d); return ok }, nil
	case Boolean:
		return func(D) bool { return true }, nil
	}
	return holds(f, func(string) bool { return true }), nil
}

func (c *compiler[D]) ids(body any) (Query[D], error) {
	m, _ := body.(map[string]any)
	list, ok := m["values"].([]any)
	if !ok {
		return nil, domain.Invalid("[ids] query needs [values], a list of ids")
	}
	set := make(map[string]bool, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, domain.Invalid("[ids] values must be strings")
		}
		set[s] = true
	}
	return func(d D) bool { return set[c.s.ID(d)] }, nil
}

func (c *compiler[D]) clauses(v any, depth int) ([]Query[D], error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]Query[D], 0, len(list))
	for _, q := range list {
		cq, err := c.query(q, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, cq)
	}
	return out, nil
}

func (c *compiler[D]) boolQuery(body any, depth int) (Query[D], error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, domain.Invalid("[bool] query expects an object")
	}
	var must, should, not []Query[D]
	minShould := -1
	for k, v := range m {
		var err error
		var qs []Query[D]
		switch k {
		case "must", "filter":
			qs, err = c.clauses(v, depth)
			must = append(must, qs...)
		case "should":
			should, err = c.clauses(v, depth)
		case "must_not":
			not, err = c.clauses(v, depth)
		case "minimum_should_match":
			minShould, err = parseMinShould(v)
		case "boost", "_name":
		default:
			err = domain.Invalid("[bool] query does not support [%s]", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if minShould < 0 {
		minShould = 0
		if len(should) > 0 && len(must) == 0 {
			minShould = 1
		}
	}
	return func(d D) bool {
		for _, q := range must {
			if !q(d) {
				return false
			}
		}
		for _, q := range not {
			if q(d) {
				return false
			}
		}
		if minShould == 0 {
			return true
		}
		n := 0
		for _, q := range should {
			if q(d) {
				if n++; n >= minShould {
					return true
				}
			}
		}
		return false
	}, nil
}

func parseMinShould(v any) (int, error) {
	s, ok := KeywordOf(v)
	if !ok {
		return 0, domain.Invalid("[minimum_should_match] must be a number")
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n < 0 || strings.HasSuffix(s, "%") {
		return 0, domain.Invalid("[minimum_should_match] must be a non-negative integer, not [%s]", s)
	}
	return n, nil
}

// holds matches documents with a value of keyword field f for which pred
// holds. pred is made once, by the caller: a closure made inside the
// query, for every document, would be allocated for every document.
func holds[D any](f Field[D], pred func(string) bool) Query[D] {
	return func(d D) bool { return f.Any(d, pred) }
}

func anyOf[D any](qs []Query[D]) Query[D] {
	return func(d D) bool {
		for _, q := range qs {
			if q(d) {
				return true
			}
		}
		return false
	}
}

// fieldNames expands the field list of simple_query_string: names or
// patterns ("meta*"), the schema's defaults when empty.
func (c *compiler[D]) fieldNames(v any) ([]string, error) {
	if v == nil {
		return c.s.Default, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, domain.Invalid("[simple_query_string] [fields] must be a list")
	}
	var out []string
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, domain.Invalid("[simple_query_string] [fields] must be strings")
		}
		s, _, _ = strings.Cut(s, "^") // boosts mean nothing here
		if !strings.ContainsAny(s, "*?") {
			out = append(out, s)
			continue
		}
		// "metadata.*" means every key of an object field: the field itself.
		if base, ok := strings.CutSuffix(s, ".*"); ok && contains(c.s.Default, base) {
			out = append(out, base)
			continue
		}
		for _, d := range c.s.Default {
			if domain.MatchWildcard(s, d) {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// valueWithin bounds a term, prefix or wildcard value (the matchers are
// linear in it, and an index holds many values to match against).
func valueWithin(field, v string) error {
	if len(v) > domain.MaxQueryValueBytes {
		return domain.Invalid("a query value for [%s] is %d bytes, over the limit of %d", field, len(v), domain.MaxQueryValueBytes)
	}
	return nil
}

// simpleQueryString supports terms, "quoted phrases", prefix*, +must,
// -must_not and | (or), over keyword fields (a date field too when the
// term is a date), with default_operator or (default) or and.
func (c *compiler[D]) simpleQueryString(body any) (Query[D], error) {
	m, ok := body.(map[string]any)
	text, _ := m["query"].(string)
	if !ok || m["query"] == nil {
		return nil, domain.Invalid("[simple_query_string] needs [query]")
	}
	for k := range m {
		switch k {
		case "query", "fields", "default_operator", "lenient", "analyze_wildcard", "boost", "_name", "flags", "auto_generate_synonyms_phrase_query":
		default:
			return nil, domain.Invalid("[simple_query_string] does not support [%s]", k)
		}
	}
	names, err := c.fieldNames(m["fields"])
	if err != nil {
		return nil, err
	}
	var fields []Field[D]
	for _, n := range names {
		f, err := c.field(n)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	and := false
	if op, _ := m["default_operator"].(string); strings.EqualFold(op, "and") {
		and = true
	}
	var must, should, not []Query[D]
	for _, tok := range tokenize(text) {
		if err := valueWithin("simple_query_string", tok.text); err != nil {
			return nil, err
		}
		q := c.tokenQuery(fields, tok.text, tok.prefix)
		switch {
		case tok.sign == '-':
			not = append(not, q)
		case tok.sign == '+' || and && !tok.or:
			must = append(must, q)
		default:
			should = append(should, q)
		}
	}
	return func(d D) bool {
		for _, q := range not {
			if q(d) {
				return false
			}
		}
		for _, q := range must {
			if !q(d) {
				return false
			}
		}
		if len(should) == 0 {
			return len(must) > 0 || len(not) > 0
		}
		return anyOf(should)(d)
	}, nil
}

func (c *compiler[D]) tokenQuery(fields []Field[D], text string, prefix bool) Query[D] {
	var qs []Query[D]
	for _, f := range fields {
		f := f
		switch f.Type {
		case Keyword:
			if prefix {
				qs = append(qs, holds(f, func(x string) bool { return strings.HasPrefix(x, text) }))
			} else {
				qs = append(qs, holds(f, func(x string) bool { return x == text }))
			}
		case Date:
			// lenient: a term that is not a date simply does not match dates
			if ms, err := ParseMillis(text, c.now); err == nil && !prefix {
				qs = append(qs, func(d D) bool { m, ok := f.Millis(d); return ok && m == ms })
			}
		case Boolean:
			if b, err := strconv.ParseBool(text); err == nil && !prefix {
				qs = append(qs, func(d D) bool { return f.Bool(d) == b })
			}
		}
	}
	return anyOf(qs)
}

type token struct {
	text   string
	sign   byte // '+', '-' or 0
	prefix bool
	or     bool // joined to the previous token by |
}

func tokenize(s string) []token {
	var out []token
	or := false
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		var t token
		if s[0] == '|' {
			or = true
			s = s[1:]
			continue
		}
		if s[0] == '+' || s[0] == '-' {
			t.sign, s = s[0], s[1:]
		}
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.text, s = s[1:], ""
			} else {
				t.text, s = s[1:end+1], s[end+2:]
			}
		} else {
			end := strings.IndexAny(s, " \t\n|")
			if end < 0 {
				end = len(s)
			}
			t.text, s = s[:end], s[end:]
			if strings.HasSuffix(t.text, "*") {
				t.text, t.prefix = strings.TrimSuffix(t.text, "*"), true
			}
		}
		t.or, or = or, false
		if t.text != "" || t.prefix {
			out = append(out, t)
		}
	}
	return out
}

// notMissing and missing values of a date in sort keys, as Elasticsearch
// reports them in _sort.
const (
	maxMillis = math.MaxInt64
	minMillis = math.MinInt64
)
