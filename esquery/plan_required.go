package esquery

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Tree is a query decoded once, as Parse decodes it (numbers stay
// json.Number), for the planner's many readings of it; the zero Tree is
// no query. Each reading understands what it can and leaves out the rest:
// an index then reads more candidates, never fewer.
type Tree struct{ q any }

// DecodeTree decodes raw, a query Parse accepted.
func DecodeTree(raw json.RawMessage) Tree {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Tree{}
	}
	q, err := decode(raw)
	if err != nil {
		return Tree{}
	}
	return Tree{q}
}

// RequiredPrefix is RequiredPrefix of the tree.
func (t Tree) RequiredPrefix(field string) string { return requiredPrefix(t.q, field, 0) }

// RequiredIDs is RequiredIDs of the tree.
func (t Tree) RequiredIDs() ([]string, bool) { return requiredIDs(t.q, 0) }

// RequiredTerms is RequiredTerms of the tree.
func (t Tree) RequiredTerms() []TermClause { return requiredTerms(t.q, 0, nil) }

// DateBound is a range of epoch milliseconds (both ends included) that a
// date field holds in every document a query matches: a range or a term
// on the field, alone or required by a bool (must, filter).
type DateBound struct {
	Field  string
	Lo, Hi int64
}

// Required is what every document a query matches satisfies, as far as
// the indexes of a date, an existing field or a boolean can use it.
type Required struct {
	Dates  []DateBound
	Exists []string        // exists queries
	Bools  map[string]bool // a term on a boolean field (invalidated): its value
}

// RequiredOf reads the clauses every match of the query satisfies (the
// query Parse accepted at now). isDate and isBool say which fields are
// dates and booleans.
func (t Tree) RequiredOf(now time.Time, isDate, isBool func(string) bool) Required {
	var out Required
	q := t.q
	eachRequired(q, 0, func(typ string, body map[string]any) {
		switch typ {
		case "range":
			if f, arg, ok := oneField(body); ok && isDate(f) {
				if b, ok := dateRange(f, arg, now); ok {
					out.Dates = append(out.Dates, b)
				}
			}
		case "term":
			f, arg, ok := oneField(body)
			if !ok {
				return
			}
			if m, isMap := arg.(map[string]any); isMap {
				arg = m["value"]
			}
			switch {
			case isDate(f):
				if ms, err := ParseMillis(arg, now); err == nil {
					out.Dates = append(out.Dates, DateBound{Field: f, Lo: ms, Hi: ms})
				}
			case isBool(f):
				if b, err := parseBool(arg, f); err == nil {
					if out.Bools == nil {
						out.Bools = map[string]bool{}
					}
					if prev, seen := out.Bools[f]; seen && prev != b {
						return // both required: nothing matches; leave it to the query
					}
					out.Bools[f] = b
				}
			}
		case "exists":
			if f, ok := body["field"].(string); ok {
				out.Exists = append(out.Exists, f)
			}
		}
	})
	return out
}

// eachRequired calls visit with every leaf query that q requires: q
// itself, or the must and filter clauses of a bool, recursively.
func eachRequired(q any, depth int, visit func(typ string, body map[string]any)) {
	m, ok := q.(map[string]any)
	if !ok || len(m) != 1 || depth > maxDepth {
		return
	}
	for typ, body := range m {
		b, _ := body.(map[string]any)
		if typ != "bool" {
			visit(typ, b)
			continue
		}
		for _, k := range []string{"must", "filter"} {
			clauses, isList := b[k].([]any)
			if !isList && b[k] != nil {
				clauses = []any{b[k]}
			}
			for _, c := range clauses {
				eachRequired(c, depth+1, visit)
			}
		}
	}
}

// oneField is a leaf's field and argument, its options aside.
func oneField(body map[string]any) (string, any, bool) {
	name, n := "", 0
	var arg any
	for k, v := range body {
		if k == "boost" || k == "_name" {
			continue
		}
		name, arg = k, v
		n++
	}
	return name, arg, n == 1
}

// dateRange reads a range query's bounds as rangeQuery compiles them.
func dateRange(field string, arg any, now time.Time) (DateBound, bool) {
	m, ok := arg.(map[string]any)
	if !ok {
		return DateBound{}, false
	}
	b := DateBound{Field: field, Lo: math.MinInt64, Hi: math.MaxInt64}
	for k, v := range m {
		ms, err := int64(0), error(nil)
		switch k {
		case "gt", "gte", "lt", "lte":
			if ms, err = ParseMillis(v, now); err != nil {
				return DateBound{}, false
			}
		default:
			continue
		}
		switch {
		case k == "gt" && ms == math.MaxInt64, k == "lt" && ms == math.MinInt64:
			return DateBound{Field: field, Lo: 1, Hi: 0}, true // nothing lies beyond the extremes
		case k == "gt":
			b.Lo = max(b.Lo, ms+1)
		case k == "gte":
			b.Lo = max(b.Lo, ms)
		case k == "lt":
			b.Hi = min(b.Hi, ms-1)
		case k == "lte":
			b.Hi = min(b.Hi, ms)
		}
	}
	return b, true
}

// SoleLeaf is the type of the one leaf the query amounts to: the query
// itself, or the only must or filter clause of a bool holding nothing
// else (no should, must_not or minimum_should_match), recursively. An
// index whose entries are exactly that leaf's matches then counts the
// query's total. ok is false for anything else.
func (t Tree) SoleLeaf() (typ string, ok bool) {
	q := t.q
	for depth := 0; depth <= maxDepth; depth++ {
		m, isMap := q.(map[string]any)
		if !isMap || len(m) != 1 {
			return "", false
		}
		body, isBool := m["bool"].(map[string]any)
		if !isBool {
			for typ := range m {
				return typ, true
			}
		}
		var only []any
		for k, v := range body {
			switch k {
			case "must", "filter":
				list, isList := v.([]any)
				if !isList {
					list = []any{v}
				}
				only = append(only, list...)
			case "boost", "_name":
			default:
				return "", false
			}
		}
		if len(only) != 1 {
			return "", false
		}
		q = only[0]
	}
	return "", false
}

// Alternative is one way a document satisfies a token of a
// simple_query_string: its Field (as the schema names it, "metadata" for
// any of its keys) holds Value, or a value starting with it (Prefix); for
// a date, Millis; for a boolean, Bool.
type Alternative struct {
	Field  string
	Type   Type
	Value  string
	Prefix bool
	Millis int64
	Bool   bool
}

// RequiredAlternatives are, for every simple_query_string the query t
// requires (alone or by a bool's must and filter), groups of alternatives:
// every match satisfies one alternative of each group (a required token's,
// or any of the optional tokens' when the string has some). t must be a
// query Parse accepted with s at now.
func RequiredAlternatives[D any](t Tree, s Schema[D], now time.Time) [][]Alternative {
	q := t.q
	var out [][]Alternative
	c := &compiler[D]{s: s, now: now}
	eachRequired(q, 0, func(typ string, body map[string]any) {
		if typ == "simple_query_string" {
			out = append(out, c.alternatives(body)...)
		}
	})
	return out
}

// alternatives reads one simple_query_string as simpleQueryString
// compiles it. An empty group is a token that matches nothing.
func (c *compiler[D]) alternatives(m map[string]any) [][]Alternative {
	text, _ := m["query"].(string)
	names, err := c.fieldNames(m["fields"])
	if err != nil {
		return nil
	}
	and := false
	if op, _ := m["default_operator"].(string); strings.EqualFold(op, "and") {
		and = true
	}
	var groups [][]Alternative
	var should []Alternative
	hasShould := false
	for _, tok := range tokenize(text) {
		var alts []Alternative
		for _, name := range names {
			f, ok := c.s.Field(name)
			if !ok {
				return nil
			}
			a := Alternative{Field: name, Type: f.Type, Value: tok.text, Prefix: tok.prefix}
			switch f.Type {
			case Date:
				ms, err := ParseMillis(tok.text, c.now)
				if err != nil || tok.prefix {
					continue // matches no date
				}
				a.Millis = ms
			case Boolean:
				b, err := strconv.ParseBool(tok.text)
				if err != nil || tok.prefix {
					continue
				}
				a.Bool = b
			}
			alts = append(alts, a)
		}
		switch {
		case tok.sign == '-':
		case tok.sign == '+' || and && !tok.or:
			groups = append(groups, alts)
		default:
			should = append(should, alts...)
			hasShould = true
		}
	}
	if hasShould { // empty when no token can match: then nothing does
		groups = append(groups, should)
	}
	return groups
}

// ValueMatch is a keyword field's values that every document a query
// matches holds one of: those Match accepts.
type ValueMatch struct {
	Field string
	Match func(string) bool
}

// RequiredValueMatches are the prefix, wildcard and case-insensitive term
// queries raw requires (alone or by a bool's must and filter), each as
// the test of one value it compiles to: an index of a field's distinct
// values then gives the documents holding one that passes. raw must be a
// query Parse accepted.
func (t Tree) RequiredValueMatches() []ValueMatch {
	q := t.q
	var out []ValueMatch
	eachRequired(q, 0, func(typ string, body map[string]any) {
		field, arg, ok := oneField(body)
		if !ok {
			return
		}
		if m := valueMatch(typ, arg); m != nil {
			out = append(out, ValueMatch{Field: field, Match: m})
		}
	})
	return out
}

// valueMatch is the value test of a prefix, wildcard or case-insensitive
// term query's argument, as prefix, wildcard and equals compile it; nil
// for other queries.
func valueMatch(typ string, arg any) func(string) bool {
	switch typ {
	case "prefix":
		v, opts, err := options(typ, arg, "value", "case_insensitive", "rewrite")
		p, ok := v.(string)
		if err != nil || !ok {
			return nil
		}
		if caseInsensitive(opts) {
			p = strings.ToLower(p)
			return func(x string) bool { return strings.HasPrefix(strings.ToLower(x), p) }
		}
		return func(x string) bool { return strings.HasPrefix(x, p) }
	case "wildcard":
		key := "value"
		if m, ok := arg.(map[string]any); ok {
			if _, has := m["wildcard"]; has {
				key = "wildcard"
			}
		}
		v, opts, err := options(typ, arg, key, "case_insensitive", "rewrite")
		p, ok := v.(string)
		if err != nil || !ok {
			return nil
		}
		if caseInsensitive(opts) {
			w := domain.CompileWildcard(strings.ToLower(p))
			return func(x string) bool { return w.Match(strings.ToLower(x)) }
		}
		return domain.CompileWildcard(p).Match
	case "term":
		v, opts, err := options(typ, arg, "value", "case_insensitive", "operator", "analyzer", "zero_terms_query", "lenient")
		s, ok := KeywordOf(v)
		if err != nil || !ok || !caseInsensitive(opts) {
			return nil // a case-sensitive term is RequiredTerms'
		}
		return func(x string) bool { return strings.EqualFold(x, s) }
	case "range":
		return keywordRange(arg)
	}
	return nil
}

// keywordRange is the value test of a range query on a keyword field, as
// rangeQuery compiles it (bounds compared as strings); nil when a bound
// is no scalar.
func keywordRange(arg any) func(string) bool {
	m, ok := arg.(map[string]any)
	if !ok {
		return nil
	}
	var checks []func(x string) bool
	for k, v := range m {
		if k != "gt" && k != "gte" && k != "lt" && k != "lte" {
			continue
		}
		b, isScalar := KeywordOf(v)
		if !isScalar {
			return nil
		}
		switch k {
		case "gt":
			checks = append(checks, func(x string) bool { return x > b })
		case "gte":
			checks = append(checks, func(x string) bool { return x >= b })
		case "lt":
			checks = append(checks, func(x string) bool { return x < b })
		case "lte":
			checks = append(checks, func(x string) bool { return x <= b })
		}
	}
	return func(x string) bool {
		for _, c := range checks {
			if !c(x) {
				return false
			}
		}
		return true
	}
}

// Conjunction splits a bool of required (must, filter) and excluded
// (must_not) clauses only, no should: a document matches it exactly when
// it matches every one of must and none of not. ok is false for anything
// else.
func (t Tree) Conjunction() (must, not []Tree, ok bool) {
	m, isMap := t.q.(map[string]any)
	body, isBool := m["bool"].(map[string]any)
	if !isMap || len(m) != 1 || !isBool {
		return nil, nil, false
	}
	for k, v := range body {
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		switch k {
		case "must", "filter":
			for _, c := range list {
				must = append(must, Tree{c})
			}
		case "must_not":
			for _, c := range list {
				not = append(not, Tree{c})
			}
		case "boost", "_name":
		default:
			return nil, nil, false
		}
	}
	return must, not, true
}

// RequiredShoulds are, for every bool the query requires (itself, or by a bool's
// must and filter) whose should clauses must match at least one (no must
// or filter, or minimum_should_match of 1 or more), those clauses: every
// match of the query matches one of each list. Each is a query of its
// own, to be planned so.
func (t Tree) RequiredShoulds() [][]Tree {
	var out [][]Tree
	var visit func(q any, depth int)
	visit = func(q any, depth int) {
		m, ok := q.(map[string]any)
		body, isBool := m["bool"].(map[string]any)
		if !ok || len(m) != 1 || !isBool || depth > maxDepth {
			return
		}
		var must []any
		for _, k := range []string{"must", "filter"} {
			clauses, isList := body[k].([]any)
			if !isList && body[k] != nil {
				clauses = []any{body[k]}
			}
			must = append(must, clauses...)
		}
		for _, c := range must {
			visit(c, depth+1)
		}
		should, isList := body["should"].([]any)
		if !isList && body["should"] != nil {
			should = []any{body["should"]}
		}
		minShould := 0
		if v, set := body["minimum_should_match"]; set {
			minShould, _ = parseMinShould(v)
		} else if len(must) == 0 {
			minShould = 1
		}
		if len(should) == 0 || minShould < 1 {
			return
		}
		list := make([]Tree, len(should))
		for i, c := range should {
			list[i] = Tree{c}
		}
		out = append(out, list)
	}
	visit(t.q, 0)
	return out
}

// SoleAlternatives are the alternatives of a query that is one
// simple_query_string (esquery.SoleLeaf) of optional tokens only (no +, -
// or and): a document matches it exactly when it satisfies one of them.
func SoleAlternatives[D any](t Tree, s Schema[D], now time.Time) ([]Alternative, bool) {
	typ, ok := t.SoleLeaf()
	if !ok || typ != "simple_query_string" {
		return nil, false
	}
	q := t.q
	var body map[string]any
	eachRequired(q, 0, func(typ string, b map[string]any) { body = b })
	text, _ := body["query"].(string)
	if op, _ := body["default_operator"].(string); strings.EqualFold(op, "and") {
		return nil, false
	}
	for _, tok := range tokenize(text) {
		if tok.sign != 0 {
			return nil, false
		}
	}
	c := &compiler[D]{s: s, now: now}
	groups := c.alternatives(body)
	if len(groups) != 1 {
		return nil, false
	}
	return groups[0], true
}

// MatchesAll reports whether the query is none or match_all.
func (t Tree) MatchesAll() bool {
	if t.q == nil {
		return true
	}
	m, ok := t.q.(map[string]any)
	body, isAll := m["match_all"].(map[string]any)
	if !ok || len(m) != 1 || !isAll {
		return false
	}
	for k := range body {
		if k != "boost" && k != "_name" {
			return false
		}
	}
	return true
}
