package es

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// planOf plans the query raw (already accepted by esquery.Parse at now).
func planOf(raw json.RawMessage, now time.Time) plan { return planTree(esquery.DecodeTree(raw), now) }

// planTree plans a decoded query: the sources its required clauses give.
func planTree(t esquery.Tree, now time.Time) plan {
	p := t.RequiredPrefix("name")
	ids, hasIDs := t.RequiredIDs()
	pl := plan{namePrefix: p, ids: ids, hasIDs: hasIDs}
	for _, f := range [][2]string{{"name", p}, {"username", t.RequiredPrefix("username")}} {
		if f[1] != "" { // the field's ordered index
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByPrefix, Field: f[0], Prefix: f[1]})
		}
	}
	for _, tc := range t.RequiredTerms() {
		switch {
		case tc.Field == "name": // the names equal to one, from the name index
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByTerms, Field: tc.Field, Values: tc.Values})
		case termIndexed(tc.Field, tc.Values):
			pl.terms = append(pl.terms, tc)
			pl.sources = append(pl.sources, projections.IndexSource{Kind: projections.ByTerms, Field: tc.Field, Values: tc.Values})
		}
	}
	pl.sources = append(pl.sources, dateSources(t, now)...)
	pl.sources = append(pl.sources, valueSources(t)...)
	pl.sources = append(pl.sources, alternativeSources(t, now)...)
	return pl
}

// dateSources are the date ranges, existences and invalidated the query
// requires, as index sources.
func dateSources(t esquery.Tree, now time.Time) []projections.IndexSource {
	var out []projections.IndexSource
	req := t.RequiredOf(now, isDateField, func(f string) bool { return f == "invalidated" })
	for _, b := range req.Dates {
		out = append(out, projections.IndexSource{Kind: projections.ByRange, Field: b.Field, Lo: b.Lo, Hi: b.Hi})
	}
	for _, f := range req.Exists {
		if path, isMeta := strings.CutPrefix(f, "metadata."); isMeta && path != "" && !strings.ContainsAny(path, "*?") ||
			f == "expiration" || f == "invalidation" {
			out = append(out, projections.IndexSource{Kind: projections.ByExists, Field: f})
		}
	}
	if inv, ok := req.Bools["invalidated"]; ok && inv { // the invalidated keys are those with an invalidation time
		out = append(out, projections.IndexSource{Kind: projections.ByExists, Field: "invalidation"})
	}
	return out
}

// valueSources are the prefix, wildcard, range and case-insensitive term
// queries the query requires of term-indexed fields (type only when rest,
// which the index leaves out, cannot match).
func valueSources(t esquery.Tree) []projections.IndexSource {
	var out []projections.IndexSource
	for _, m := range t.RequiredValueMatches() {
		indexed := m.Field == "metadata" || termIndexed(m.Field, nil)
		if m.Field == "type" && !m.Match(domain.ESTypeRest) || m.Field != "type" && indexed {
			out = append(out, projections.IndexSource{Kind: projections.ByValues, Field: m.Field, Match: m.Match})
		}
	}
	return out
}

// alternativeSources are the unions the query requires one member of:
// a bool's should clauses, a simple_query_string's tokens.
func alternativeSources(t esquery.Tree, now time.Time) []projections.IndexSource {
	var out []projections.IndexSource
	for _, should := range t.RequiredShoulds() {
		if src, ok := anyOf(should, now); ok {
			out = append(out, src)
		}
	}
	for _, group := range esquery.RequiredAlternatives(t, keySchema, now) {
		if src, ok := unionOf(group); ok {
			out = append(out, src)
		}
	}
	return out
}

// anyOf is the source of a bool's should clauses of which a match
// matches one: the union of each clause's own plan (its ids, or the
// fewest of its sources), when each has one.
func anyOf(clauses []esquery.Tree, now time.Time) (projections.IndexSource, bool) {
	u := projections.IndexSource{Kind: projections.ByUnion}
	for _, c := range clauses {
		sub := planTree(c, now)
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

// conjunction is the source whose entries are exactly the query's
// matches when it is a bool of required and excluded clauses, each a
// soleSource (every key of a team but the invalidated, say): their index
// entries counted on bitmaps give the total. nil else.
func conjunction(t esquery.Tree, now time.Time) *projections.IndexSource {
	must, not, ok := t.Conjunction()
	if !ok {
		return nil
	}
	all := projections.IndexSource{Kind: projections.ByAll}
	for _, c := range must {
		src := soleSource(c, planTree(c, now), now)
		if src == nil {
			return nil
		}
		all.Any = append(all.Any, *src)
	}
	for _, c := range not {
		src := soleSource(c, planTree(c, now), now)
		if src == nil {
			return nil
		}
		all.Not = append(all.Not, *src)
	}
	return &all
}

// soleSource is the index whose entries are exactly the query's matches:
// the query is one leaf (esquery.SoleLeaf) and a source planOf found for
// it is of the leaf's own kind (the names equal to a term's value, not
// those starting with it). nil else.
func soleSource(t esquery.Tree, pl plan, now time.Time) *projections.IndexSource {
	typ, ok := t.SoleLeaf()
	if !ok || pl.hasIDs {
		return nil
	}
	if alts, ok := esquery.SoleAlternatives(t, keySchema, now); ok { // any of its tokens
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
