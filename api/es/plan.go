package es

import (
	"encoding/json"

	"github.com/keyplane/keyplane/esquery"
)

// plan is where a query's candidate records come from: the name index
// when the query requires a name prefix, else every record of the
// project (a scan). Candidates are a superset of the matches, which the
// compiled query then picks, so a plan changes how fast a query answers,
// never what: TestIndexedAndScannedQueriesAnswerAlike.
type plan struct {
	namePrefix string
}

// planOf plans the query raw (already accepted by esquery.Parse).
func planOf(raw json.RawMessage) plan {
	p, _ := esquery.RequiredPrefix(raw, "name")
	return plan{namePrefix: p}
}

// candidates appends the records pl reads to buf.
func (x *esReq) candidates(pl plan, buf []rec) []rec {
	if pl.namePrefix != "" {
		return x.s.keyIndex.RecordsNamed(x.org.ID, x.pr.ID, pl.namePrefix, buf)
	}
	x.s.log.Debug("query scans every key of the project: no index applies", "org", x.org.ID, "project", x.pr.ID)
	return x.s.keyIndex.Records(x.org.ID, x.pr.ID, buf)
}
