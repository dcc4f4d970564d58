package esquery

import (
	"encoding/json"
	"strings"
)

// RequiredPrefix is a prefix that the keyword field must start with in
// every document the query raw matches, when the query says so: a term,
// prefix or wildcard on field (case-sensitive), alone or required by a bool
// (must, filter). An index ordered by the field then gives the documents
// the query can match, a superset the query itself filters. ok is false
// when the query bounds the field by no literal prefix (a scan): the
// answer is never wrong for it, at worst slow.
//
// raw must be a query Parse accepted; it is read again here rather than
// through the compiled query, which is a function and says nothing.
func RequiredPrefix(raw json.RawMessage, field string) (prefix string, ok bool) {
	if len(raw) == 0 {
		return "", false
	}
	var q any
	if json.Unmarshal(raw, &q) != nil {
		return "", false
	}
	p := requiredPrefix(q, field, 0)
	return p, p != ""
}

func requiredPrefix(q any, field string, depth int) string {
	m, ok := q.(map[string]any)
	if !ok || len(m) != 1 || depth > 20 {
		return ""
	}
	for typ, body := range m {
		switch typ {
		case "bool":
			return boolPrefix(body, field, depth)
		case "term":
			return leafValue(body, field, "value", func(s string) string { return s })
		case "prefix":
			return leafValue(body, field, "value", func(s string) string { return s })
		case "wildcard":
			p := leafValue(body, field, "value", literalPrefix)
			if p == "" {
				p = leafValue(body, field, "wildcard", literalPrefix)
			}
			return p
		case "terms":
			return termsPrefix(body, field)
		}
	}
	return ""
}

// boolPrefix is the longest prefix among a bool's required clauses: each
// of them holds for every match.
func boolPrefix(body any, field string, depth int) string {
	m, _ := body.(map[string]any)
	best := ""
	for _, k := range []string{"must", "filter"} {
		clauses, isList := m[k].([]any)
		if !isList && m[k] != nil {
			clauses = []any{m[k]}
		}
		for _, c := range clauses {
			if p := requiredPrefix(c, field, depth+1); len(p) > len(best) {
				best = p
			}
		}
	}
	return best
}

// leafValue reads {field: "v"} or {field: {key: "v"}} (case-sensitive
// only) and returns of(v); "" for anything else.
func leafValue(body any, field, key string, of func(string) string) string {
	m, _ := body.(map[string]any)
	switch v := m[field].(type) {
	case string:
		return of(v)
	case map[string]any:
		if ci, _ := v["case_insensitive"].(bool); ci {
			return ""
		}
		if s, ok := v[key].(string); ok {
			return of(s)
		}
	}
	return ""
}

// termsPrefix is the prefix common to all of a terms query's values.
func termsPrefix(body any, field string) string {
	m, _ := body.(map[string]any)
	list, _ := m[field].([]any)
	common := ""
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return ""
		}
		if i == 0 {
			common = s
			continue
		}
		n := 0
		for n < len(common) && n < len(s) && common[n] == s[n] {
			n++
		}
		common = common[:n]
	}
	return common
}

// literalPrefix is a wildcard pattern's part before its first '*' or '?'.
func literalPrefix(p string) string {
	if i := strings.IndexAny(p, "*?"); i >= 0 {
		return p[:i]
	}
	return p
}

// RequiredIDs are ids one of which every document the query raw matches
// has, when the query says so: an ids query, alone or required by a bool
// (must, filter; the smallest list among them). A lookup of each then
// gives the candidates. ok is false when no ids bound the query.
func RequiredIDs(raw json.RawMessage) (ids []string, ok bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var q any
	if json.Unmarshal(raw, &q) != nil {
		return nil, false
	}
	return requiredIDs(q, 0)
}

func requiredIDs(q any, depth int) ([]string, bool) {
	m, ok := q.(map[string]any)
	if !ok || len(m) != 1 || depth > 20 {
		return nil, false
	}
	if body, ok := m["ids"].(map[string]any); ok {
		list, _ := body["values"].([]any)
		ids := make([]string, 0, len(list))
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return nil, false
			}
			ids = append(ids, s)
		}
		return ids, true
	}
	body, _ := m["bool"].(map[string]any)
	var best []string
	found := false
	for _, k := range []string{"must", "filter"} {
		clauses, isList := body[k].([]any)
		if !isList && body[k] != nil {
			clauses = []any{body[k]}
		}
		for _, c := range clauses {
			if ids, ok := requiredIDs(c, depth+1); ok && (!found || len(ids) < len(best)) {
				best, found = ids, true
			}
		}
	}
	return best, found
}

// TermClause is a term or terms query that every match satisfies: field
// holds one of Values.
type TermClause struct {
	Field  string
	Values []string
}

// RequiredTerms are the term and terms queries (case-sensitive, string
// values) that every document the query raw matches satisfies: alone or
// required by a bool (must, filter). A term index then gives candidates.
func RequiredTerms(raw json.RawMessage) []TermClause {
	if len(raw) == 0 {
		return nil
	}
	var q any
	if json.Unmarshal(raw, &q) != nil {
		return nil
	}
	return requiredTerms(q, 0, nil)
}

func requiredTerms(q any, depth int, out []TermClause) []TermClause {
	m, ok := q.(map[string]any)
	if !ok || len(m) != 1 || depth > 20 {
		return out
	}
	for typ, body := range m {
		fields, _ := body.(map[string]any)
		switch typ {
		case "term":
			for f, v := range fields {
				if f == "boost" || f == "_name" {
					continue
				}
				if s := leafValue(body, f, "value", func(s string) string { return s }); s != "" || v == "" {
					out = append(out, TermClause{Field: f, Values: []string{s}})
				}
			}
		case "terms":
			for f, v := range fields {
				list, isList := v.([]any)
				if !isList {
					continue
				}
				var values []string
				for _, x := range list {
					s, isStr := x.(string)
					if !isStr {
						values = nil
						break
					}
					values = append(values, s)
				}
				if values != nil {
					out = append(out, TermClause{Field: f, Values: values})
				}
			}
		case "bool":
			for _, k := range []string{"must", "filter"} {
				clauses, isList := fields[k].([]any)
				if !isList && fields[k] != nil {
					clauses = []any{fields[k]}
				}
				for _, c := range clauses {
					out = requiredTerms(c, depth+1, out)
				}
			}
		}
	}
	return out
}
