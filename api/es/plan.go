package es

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// plan is where a query's candidate records come from: the index that
// holds the fewest of them among those the query's required clauses can
// read (name prefix, terms, date ranges, existence, invalidated), else
// every record of the project (a scan). Candidates are a superset of the
// matches, which the compiled query then picks, so a plan changes how fast
// a query answers, never what: TestIndexedAndScannedQueriesAnswerAlike.
type plan struct {
	// ids, when set, bound the matches (an ids query): each is looked up.
	ids        []string
	hasIDs     bool
	namePrefix string
	// terms are required term queries on fields a term index holds.
	terms []esquery.TermClause
	// sources are the indexes the candidates can come from.
	sources []projections.IndexSource
	// ends, when above 0, is a query for every key sorted by creation
	// alone (oldest first, newest with newest), of which the page is the
	// ends first: the creation index gives them, and the project's size
	// the total.
	ends   int
	newest bool
	// walk, when its field is set, is a query for every key sorted by one
	// indexed field: the page is the first entries of that field's index
	// (after the search_after cursor), the total the project's size.
	walk walkPlan
	// own is a query of the caller's own keys (manage_own_api_key): an
	// API key's is itself, a user's are among those of its username.
	own bool
}

// walkPlan reads the first k records in the order of field
// (projections.KeyIndex.RecordsInOrder), of every key or, with only, of
// the query that is that index's entries.
type walkPlan struct {
	field projections.OrderField
	desc  bool
	after *projections.OrderCursor
	k     int
	only  *projections.IndexSource
}

// planOf plans the query raw (already accepted by esquery.Parse at now).
func planOf(raw json.RawMessage, now time.Time) plan {
	p, _ := esquery.RequiredPrefix(raw, "name")
	ids, hasIDs := esquery.RequiredIDs(raw)
	pl := plan{namePrefix: p, ids: ids, hasIDs: hasIDs}
	if p != "" {
		pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByPrefix, Field: "name", Prefix: p})
	}
	for _, tc := range esquery.RequiredTerms(raw) {
		switch {
		case tc.Field == "name": // the names equal to one, from the name index
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByTerms, Field: tc.Field, Values: tc.Values})
		case termIndexed(tc.Field, tc.Values):
			pl.terms = append(pl.terms, tc)
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByTerms, Field: tc.Field, Values: tc.Values})
		}
	}
	req := esquery.RequiredOf(raw, now, isDateField, func(f string) bool { return f == "invalidated" })
	for _, b := range req.Dates {
		pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByRange, Field: b.Field, Lo: b.Lo, Hi: b.Hi})
	}
	for _, f := range req.Exists {
		if path, isMeta := strings.CutPrefix(f, "metadata."); isMeta && path != "" && !strings.ContainsAny(path, "*?") ||
			f == "expiration" || f == "invalidation" {
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByExists, Field: f})
		}
	}
	if inv, ok := req.Bools["invalidated"]; ok && inv { // the invalidated keys are those with an invalidation time
		pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByExists, Field: "invalidation"})
	}
	for _, m := range esquery.RequiredValueMatches(raw) {
		if indexed := m.Field == "metadata" || termIndexed(m.Field, nil); m.Field == "type" && !m.Match(domain.ESTypeRest) || m.Field != "type" && indexed {
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByValues, Field: m.Field, Match: m.Match})
		}
	}
	for _, should := range esquery.RequiredShoulds(raw) {
		if src, ok := anyOf(should, now); ok {
			pl.sources = append(pl.sources, src)
		}
	}
	for _, group := range esquery.RequiredAlternatives(raw, keySchema, now) {
		if src, ok := unionOf(group); ok {
			pl.sources = append(pl.sources, src)
		}
	}
	return pl
}

// anyOf is the source of a bool's should clauses of which a match
// matches one: the union of each clause's own plan (its ids, or the
// fewest of its sources), when each has one.
func anyOf(clauses []json.RawMessage, now time.Time) (projections.IndexSource, bool) {
	u := projections.IndexSource{Kind: projections.ByUnion}
	for _, c := range clauses {
		sub := planOf(c, now)
		switch {
		case sub.hasIDs:
			u.Any = append(u.Any, projections.IndexSource{Kind: projections.ByIDs, Values: sub.ids})
		case len(sub.sources) > 0:
			u.Any = append(u.Any, projections.IndexSource{Kind: projections.ByFewest, Any: sub.sources})
		default:
			return u, false
		}
	}
	return u, true
}

// unionOf is the source of a simple_query_string's group of alternatives,
// when an index holds each: a name equal to the token or starting with it
// (the name index), a term of username, realm_name, type or metadata (any
// key or one), a date, invalidated.
func unionOf(group []esquery.Alternative) (projections.IndexSource, bool) {
	u := projections.IndexSource{Kind: projections.ByUnion}
	for _, a := range group {
		var src projections.IndexSource
		switch {
		case a.Field == "name" && a.Prefix:
			src = projections.IndexSource{Kind: projections.ByPrefix, Field: "name", Prefix: a.Value}
		case a.Field == "name":
			src = projections.IndexSource{Kind: projections.ByTerms, Field: "name", Values: []string{a.Value}}
		case a.Type == esquery.Date:
			src = projections.IndexSource{Kind: projections.ByRange, Field: a.Field, Lo: a.Millis, Hi: a.Millis}
		case a.Type == esquery.Boolean && a.Field == "invalidated" && a.Bool:
			src = projections.IndexSource{Kind: projections.ByExists, Field: "invalidation"}
		case a.Prefix || a.Type != esquery.Keyword || a.Field == "type" && a.Value == domain.ESTypeRest:
			return u, false // no index of prefixes but the name's; rest is most keys
		case a.Field == "metadata" || a.Field == "type" || termIndexed(a.Field, nil):
			src = projections.IndexSource{Kind: projections.ByTerms, Field: a.Field, Values: []string{a.Value}}
		default:
			return u, false
		}
		u.Any = append(u.Any, src)
	}
	return u, true
}

// isDateField reports whether the query API's field is a date.
func isDateField(f string) bool { return f == "creation" || f == "expiration" || f == "invalidation" }

// termIndexed reports whether the term index holds field's values: type
// only for cross_cluster (the rare type; rest is every other key).
func termIndexed(field string, values []string) bool {
	if field == "type" {
		for _, v := range values {
			if v != domain.ESTypeCrossCluster {
				return false
			}
		}
		return true
	}
	path, isMeta := strings.CutPrefix(field, "metadata.")
	return field == "username" || field == "realm_name" || isMeta && path != "" && !strings.ContainsAny(path, "*?")
}

// planRequest plans a whole request. A query for every key (of every
// owner, without aggregations) sorted by creation alone without
// search_after reads its page's ends of the creation index; sorted by one
// indexed field, its page from that field's index; else planOf.
//
// A query that is one index's entries (soleSource), sorted so, reads the
// field's index in order too, keeping its matches: the index counts the
// total. The projection decides whether that beats reading the index's
// entries (the matches) and sorting them.
func planRequest(req esQueryRequest, from, size int, onlyOwn, aggs bool, now time.Time, after esquery.Key) plan {
	pl := planOf(req.Query, now)
	if pl.own = onlyOwn; onlyOwn || aggs {
		return pl
	}
	var only *projections.IndexSource
	if !matchAll(req.Query) {
		if only = soleSource(req.Query, pl, now); only == nil {
			if only = soleNegation(req.Query, now); only == nil {
				return pl
			}
		}
	} else if newest, ok := byCreationOnly(req.Sort); ok && after == nil && from+size > 0 {
		pl.ends, pl.newest = from+size, newest
		return pl
	}
	field, desc, ok := sortedByOne(req.Sort)
	if noSort := len(req.Sort) == 0 || string(req.Sort) == "null" || string(req.Sort) == "[]"; noSort {
		field, desc, ok = "creation", false, true // hits rank by creation, then id
	}
	if ok {
		pl.walk = walkPlan{field: field, desc: desc, k: from + size, only: only}
		if len(after) == 1 {
			pl.walk.after = &projections.OrderCursor{S: after[0].S, N: after[0].N, Missing: after[0].Missing}
		}
	}
	return pl
}

// soleNegation is the source whose entries are exactly the records the
// query does not match: a bool of one must_not clause of a soleSource
// (every key but the invalidated, say); its count gives the total.
func soleNegation(raw json.RawMessage, now time.Time) *projections.IndexSource {
	not, ok := esquery.SoleNegation(raw)
	if !ok {
		return nil
	}
	src := soleSource(not, planOf(not, now), now)
	if src == nil {
		return nil
	}
	return &projections.IndexSource{Kind: projections.ByNot, Any: []projections.IndexSource{*src}}
}

// soleSource is the index whose entries are exactly the query's matches:
// the query is one leaf (esquery.SoleLeaf) and a source planOf found for
// it is of the leaf's own kind (the names equal to a term's value, not
// those starting with it). nil else.
func soleSource(raw json.RawMessage, pl plan, now time.Time) *projections.IndexSource {
	typ, ok := esquery.SoleLeaf(raw)
	if !ok || pl.hasIDs {
		return nil
	}
	if alts, ok := esquery.SoleAlternatives(raw, keySchema, now); ok { // any of its tokens
		if u, ok := unionOf(alts); ok {
			return &u
		}
		return nil
	}
	for _, src := range pl.sources {
		switch {
		case typ == "prefix" && src.Kind == projections.ByPrefix,
			(typ == "term" || typ == "terms") && src.Kind == projections.ByTerms,
			(typ == "prefix" || typ == "wildcard" || typ == "range" || typ == "term") && src.Kind == projections.ByValues,
			(typ == "range" || typ == "term") && src.Kind == projections.ByRange,
			(typ == "exists" || typ == "term") && src.Kind == projections.ByExists:
			return &src
		}
	}
	return nil
}

// sortedByOne reads a sort by one field an index orders (name, username,
// creation or _doc, expiration), ascending or descending, with no option
// but its order.
func sortedByOne(raw json.RawMessage) (field projections.OrderField, desc, ok bool) {
	var one []any
	if json.Unmarshal(raw, &one) != nil {
		var single any
		if json.Unmarshal(raw, &single) != nil {
			return "", false, false
		}
		one = []any{single}
	}
	if len(one) != 1 {
		return "", false, false
	}
	name, order := "", ""
	switch s := one[0].(type) {
	case string:
		name = s
	case map[string]any:
		if len(s) != 1 {
			return "", false, false
		}
		for f, v := range s {
			name = f
			switch o := v.(type) {
			case string:
				order = o
			case map[string]any:
				for k := range o {
					if k != "order" {
						return "", false, false // missing and the like: the scan's
					}
				}
				if order, ok = o["order"].(string); !ok && o["order"] != nil {
					return "", false, false
				}
			default:
				return "", false, false
			}
		}
	default:
		return "", false, false
	}
	if name == "_doc" {
		name = "creation"
	}
	switch name {
	case "name", "username", "creation", "expiration":
	default:
		return "", false, false
	}
	switch strings.ToLower(order) {
	case "", "asc":
		return projections.OrderField(name), false, true
	case "desc":
		return projections.OrderField(name), true, true
	}
	return "", false, false
}

// matchAll reports whether raw is no query or match_all.
func matchAll(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var q map[string]map[string]any
	if json.Unmarshal(raw, &q) != nil || len(q) != 1 {
		return false
	}
	body, ok := q["match_all"]
	for k := range body {
		if k != "boost" && k != "_name" {
			return false
		}
	}
	return ok
}

// byCreationOnly reads a sort that orders by creation alone: none (ties
// by creation), "creation" or "_doc", ascending or descending (newest).
func byCreationOnly(raw json.RawMessage) (newest, ok bool) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "[]" {
		return false, true
	}
	var one []any
	if json.Unmarshal(raw, &one) != nil {
		var single any
		if json.Unmarshal(raw, &single) != nil {
			return false, false
		}
		one = []any{single}
	}
	if len(one) != 1 {
		return false, false
	}
	switch s := one[0].(type) {
	case string:
		return false, s == "creation" || s == "_doc"
	case map[string]any:
		if len(s) != 1 {
			return false, false
		}
		for field, v := range s {
			if field != "creation" && field != "_doc" {
				return false, false
			}
			order, isStr := v.(string)
			if m, isMap := v.(map[string]any); isMap && len(m) == 1 {
				order, isStr = m["order"].(string)
			}
			return order == "desc", isStr && (order == "asc" || order == "desc")
		}
	}
	return false, false
}

// scans counts the queries that read every key of their project (tests).
var scans atomic.Int64

// candidates appends the records pl reads to buf; total, when not -1, is
// the query's total, known without evaluating it.
// q is the compiled query, kept by a read in order.
func (x *esReq) candidates(pl plan, q esquery.Query[rec], buf []rec) ([]rec, int) {
	if pl.ends > 0 {
		return x.s.keyIndex.RecordsAtEnds(x.org.ID, x.pr.ID, pl.ends, pl.newest, buf)
	}
	if pl.own && x.p.Kind == domain.ActorKey {
		return x.s.keyIndex.RecordsWithIDs(x.org.ID, x.pr.ID, []string{string(x.p.KeyID)}, buf), -1
	}
	if pl.hasIDs {
		return x.s.keyIndex.RecordsWithIDs(x.org.ID, x.pr.ID, pl.ids, buf), -1
	}
	if pl.own && x.p.User != "" {
		pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByTerms, Field: "username", Values: []string{x.p.User}})
	}
	if w := pl.walk; w.field != "" {
		rd := projections.OrderRead{Field: w.field, Desc: w.desc, After: w.after, K: w.k, Only: w.only}
		if w.only != nil {
			rd.Keep = q
		}
		if recs, total, ok := x.s.keyIndex.RecordsInOrder(x.org.ID, x.pr.ID, rd, buf); ok {
			return recs, total
		}
	}
	recs, which := x.s.keyIndex.Candidates(x.org.ID, x.pr.ID, pl.sources, buf)
	if which < 0 {
		scans.Add(1)
		x.s.log.Debug("query scans every key of the project: no index applies, or none holds less than half of it",
			"org", x.org.ID, "project", x.pr.ID, "indexes", len(pl.sources))
	}
	return recs, -1
}
