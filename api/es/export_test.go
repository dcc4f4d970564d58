package es

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// SetSearchHook sets searchHook for a test; the returned func unsets it.
func SetSearchHook(f func()) (unset func()) {
	searchHook.Store(&f)
	return func() { searchHook.Store(nil) }
}

// NamePrefixOf is the name prefix a query's plan reads from the name
// index, "" for a scan.
func NamePrefixOf(raw string) string { return planOf([]byte(raw), time.Now()).namePrefix }

// ReadsCreationEnds reports whether a request for every caller's key,
// without aggregations, reads its page from the creation index.
func ReadsCreationEnds(body string) bool {
	var req esQueryRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		panic(err)
	}
	from, size, err := pageOf(req)
	return err == nil && planRequest(req, from, size, false, false, time.Now(), cursorOf(req)).ends > 0
}

// cursorOf stands for a request's search_after: its values do not change
// a plan's kind.
func cursorOf(req esQueryRequest) esquery.Key {
	if len(req.SearchAfter) == 0 || string(req.SearchAfter) == "null" {
		return nil
	}
	return esquery.Key{{}}
}

// ServedByIndex reports whether a request of every owner's keys, without
// aggregations, reads its candidates from an index: which one, "" for a
// scan.
func ServedByIndex(body string) string {
	var req esQueryRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		panic(err)
	}
	from, size, err := pageOf(req)
	if err != nil {
		panic(err)
	}
	pl := planRequest(req, from, size, false, false, time.Now(), cursorOf(req))
	switch {
	case pl.ends > 0:
		return "creation ends"
	case pl.hasIDs:
		return "ids"
	case pl.walk.field != "" && pl.walk.only != nil && pl.walk.only.Kind == projections.ByAll && len(pl.sources) == 0:
		return "order of " + string(pl.walk.field) + ", else a scan" // every key but an index's
	case pl.walk.field != "":
		return "order of " + string(pl.walk.field)
	case len(pl.sources) > 0:
		var kinds []string
		for _, s := range pl.sources {
			kinds = append(kinds, s.Field)
		}
		return "fewest of " + strings.Join(kinds, ", ")
	}
	return ""
}

// ReadsIDs reports whether a query's plan looks its ids up.
func ReadsIDs(raw string) bool { return planOf([]byte(raw), time.Now()).hasIDs }

// TermFieldsOf are the fields whose term index a query's plan may read.
func TermFieldsOf(raw string) []string {
	var out []string
	for _, tc := range planOf([]byte(raw), time.Now()).terms {
		out = append(out, tc.Field)
	}
	return out
}

// Scans is how many queries read every key of their project so far.
func Scans() int64 { return scans.Load() }
