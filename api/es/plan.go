package es

import (
	"encoding/json"
	"strings"

	"github.com/keyplane/keyplane/esquery"
)

// plan is where a query's candidate records come from: the name index
// when the query requires a name prefix, else every record of the
// project (a scan). Candidates are a superset of the matches, which the
// compiled query then picks, so a plan changes how fast a query answers,
// never what: TestIndexedAndScannedQueriesAnswerAlike.
type plan struct {
	// ids, when set, bound the matches (an ids query): each is looked up.
	ids        []string
	hasIDs     bool
	namePrefix string
	// terms are required term queries on fields a term index holds.
	terms []esquery.TermClause
	// ends, when above 0, is a query for every key sorted by creation
	// alone (oldest first, newest with newest), of which the page is the
	// ends first: the creation index gives them, and the project's size
	// the total.
	ends   int
	newest bool
}

// planOf plans the query raw (already accepted by esquery.Parse).
func planOf(raw json.RawMessage) plan {
	p, _ := esquery.RequiredPrefix(raw, "name")
	ids, hasIDs := esquery.RequiredIDs(raw)
	pl := plan{namePrefix: p, ids: ids, hasIDs: hasIDs}
	for _, tc := range esquery.RequiredTerms(raw) {
		if termIndexed(tc.Field) {
			pl.terms = append(pl.terms, tc)
		}
	}
	return pl
}

// termIndexed reports whether the term index holds field.
func termIndexed(field string) bool {
	path, isMeta := strings.CutPrefix(field, "metadata.")
	return field == "username" || field == "realm_name" || isMeta && path != "" && !strings.ContainsAny(path, "*?")
}

// planRequest plans a whole request: a query for every key sorted by
// creation, for every caller's key, without search_after or aggregations,
// reads its page's ends of the creation index; else planOf.
func planRequest(req esQueryRequest, from, size int, onlyOwn, aggs bool) plan {
	pl := planOf(req.Query)
	if onlyOwn || aggs || len(req.SearchAfter) > 0 && string(req.SearchAfter) != "null" || !matchAll(req.Query) {
		return pl
	}
	if newest, ok := byCreationOnly(req.Sort); ok && from+size > 0 {
		pl.ends, pl.newest = from+size, newest
	}
	return pl
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

// candidates appends the records pl reads to buf; total, when not -1, is
// the query's total, known without evaluating it.
func (x *esReq) candidates(pl plan, buf []rec) ([]rec, int) {
	if pl.ends > 0 {
		return x.s.keyIndex.RecordsAtEnds(x.org.ID, x.pr.ID, pl.ends, pl.newest, buf)
	}
	if pl.hasIDs {
		return x.s.keyIndex.RecordsWithIDs(x.org.ID, x.pr.ID, pl.ids, buf), -1
	}
	// The most selective index: the fewest candidates.
	var best []rec
	found := false
	if pl.namePrefix != "" {
		best, found = x.s.keyIndex.RecordsNamed(x.org.ID, x.pr.ID, pl.namePrefix, nil), true
	}
	for _, tc := range pl.terms {
		if recs, ok := x.s.keyIndex.RecordsWithTerms(x.org.ID, x.pr.ID, tc.Field, tc.Values, nil); ok && (!found || len(recs) < len(best)) {
			best, found = recs, true
		}
	}
	if found {
		return append(buf, best...), -1
	}
	x.s.log.Debug("query scans every key of the project: no index applies", "org", x.org.ID, "project", x.pr.ID)
	return x.s.keyIndex.Records(x.org.ID, x.pr.ID, buf), -1
}
