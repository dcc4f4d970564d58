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
	// ties: the sort has further fields, which order the records tied
	// on field (projections.OrderRead.Ties).
	ties bool
}

// planRequest plans a whole request. A query for every key (of every
// owner, without aggregations) sorted by creation alone without
// search_after reads its page's ends of the creation index; sorted by one
// indexed field, its page from that field's index; else planOf.
//
// A query that is one index's entries (soleSource), or a conjunction of
// such, sorted so, reads the field's index in order too, keeping its
// matches: the indexes count the total. The projection decides whether that beats reading the index's
// entries (the matches) and sorting them.
func planRequest(req esQueryRequest, from, size int, onlyOwn, aggs bool, now time.Time, after esquery.Key) plan {
	t := esquery.DecodeTree(req.Query)
	pl := planTree(t, now)
	if pl.own = onlyOwn; onlyOwn || aggs {
		return pl
	}
	var only *projections.IndexSource
	if !t.MatchesAll() {
		if only = soleSource(t, pl, now); only == nil {
			if only = conjunction(t, now); only == nil {
				return pl
			}
		}
	} else if newest, ok := byCreationOnly(req.Sort); ok && after == nil && from+size > 0 {
		pl.ends, pl.newest = from+size, newest
		return pl
	}
	field, desc, more, ok := sortedBy(req.Sort)
	if noSort := len(req.Sort) == 0 || string(req.Sort) == "null" || string(req.Sort) == "[]"; noSort {
		field, desc, ok = "creation", false, true // hits rank by creation, then id
	}
	if ok {
		pl.walk = walkPlan{field: field, desc: desc, k: from + size, only: only, ties: more}
		if len(after) > 0 {
			pl.walk.after = &projections.OrderCursor{S: after[0].S, N: after[0].N, Missing: after[0].Missing}
		}
	}
	return pl
}

// sortedBy reads a sort whose first field is one an index orders (name,
// username, creation or _doc, expiration), ascending or descending, with
// no option but its order; more reports further fields.
func sortedBy(raw json.RawMessage) (field projections.OrderField, desc, more, ok bool) {
	var one []any
	if json.Unmarshal(raw, &one) != nil {
		var single any
		if json.Unmarshal(raw, &single) != nil {
			return "", false, false, false
		}
		one = []any{single}
	}
	if len(one) == 0 {
		return "", false, false, false
	}
	field, desc, ok = firstSortField(one[0])
	return field, desc, len(one) > 1, ok
}

// firstSortField reads one item of a sort, as sortedBy.
func firstSortField(item any) (field projections.OrderField, desc, ok bool) {
	name, order := "", ""
	switch s := item.(type) {
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
// q is the compiled query, kept by a read in order, srt and after its
// sort and search_after.
func (x *esReq) candidates(pl plan, q esquery.Query[rec], srt esquery.Sort[rec], after esquery.Key, buf []rec) ([]rec, int) {
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
		rd := projections.OrderRead{Field: w.field, Desc: w.desc, After: w.after, K: w.k, Only: w.only, Ties: w.ties}
		if w.only != nil {
			rd.Keep = q
		}
		if w.ties && after != nil { // the records of the cursor's first value that its further values put before it
			var scratch esquery.Key
			rd.Keep = func(r rec) bool {
				scratch = srt.KeyInto(scratch, r)
				return (w.only == nil || q(r)) && srt.Compare(scratch, after) > 0
			}
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
