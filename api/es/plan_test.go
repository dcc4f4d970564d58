package es_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/api/es"
)

// TestIndexedAndScannedQueriesAnswerAlike: over random keys (changed
// metadata and expirations, arrays, invalidated and cross-cluster keys), a
// random query that an index serves (ids, name prefixes, terms, value
// tests, date ranges, existence, simple_query_string, any of several,
// every key or one index's entries read in a field's order, search_after)
// answers exactly what the same query answers by a scan (as a must_not of
// its must_not, which no index serves): hits, order, sort values, total
// and aggregations.
func TestIndexedAndScannedQueriesAnswerAlike(t *testing.T) {
	a := startApp(t)
	base, auth := a.URL(), basic(ownerAuth)
	rng := rand.New(rand.NewPCG(27, 1))
	parts := []string{"a", "ab", "b", "ba", "key-1", "key-12", "x"}
	var ids, names []string
	for i := range 250 {
		name := parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))] + fmt.Sprint(rng.IntN(3))
		names = append(names, name)
		body := fmt.Sprintf(`{"name": %q, "metadata": {"team": "t%d", "n": %d}}`, name, rng.IntN(4), i)
		if i >= 60 { // a field no update touches: its postings count its keys
			body = fmt.Sprintf(`{"name": %q, "metadata": {"team": "t%d", "n": %d, "tier": "%s"}}`, name, rng.IntN(4), i, []string{"gold", "iron", "iron"}[rng.IntN(3)])
		}
		switch rng.IntN(6) {
		case 0: // an array: one key in two values' postings, or twice in one's
			body = fmt.Sprintf(`{"name": %q, "metadata": {"tags": [%q, %q]}}`, name, parts[rng.IntN(2)], parts[rng.IntN(2)])
		case 1, 2:
			body = fmt.Sprintf(`{"name": %q, "expiration": "%dd", "metadata": {"team": "t%d"}}`, name, 1+rng.IntN(5), rng.IntN(4))
		}
		ids = append(ids, esDo(t, "POST", base+"/_security/api_key", auth, body).Must(t, 200).Str("id"))
	}
	for _, id := range ids[:15] {
		esDo(t, "DELETE", base+"/_security/api_key", auth, `{"ids": [`+fmt.Sprintf("%q", id)+`]}`).Must(t, 200)
	}
	for _, id := range ids[15:40] { // a changed team leaves the old one behind in the term index
		esDo(t, "PUT", base+"/_security/api_key/"+id, auth, fmt.Sprintf(`{"metadata": {"team": "t%d", "moved": "yes"}}`, rng.IntN(4))).Must(t, 200)
	}
	for _, id := range ids[30:60] { // a changed expiration leaves the old one behind in its index
		for range 1 + rng.IntN(3) {
			esDo(t, "PUT", base+"/_security/api_key/"+id, auth, fmt.Sprintf(`{"expiration": "%dd"}`, 1+rng.IntN(5))).Must(t, 200)
		}
	}
	for i := range 4 {
		esDo(t, "POST", base+"/_security/cross_cluster/api_key", auth, fmt.Sprintf(`{"name": "cc%d", "access": {"search": [{"names": ["logs"]}]}}`, i)).Must(t, 200)
	}
	dates := func(field string) []int64 { // the values keys hold: bounds that fall on them
		r := esDo(t, "POST", base+"/_security/_query/api_key", auth, `{"size": 1000, "sort": ["`+field+`"]}`).Must(t, 200)
		var out []int64
		for _, k := range r.Body["api_keys"].([]any) {
			v, _ := k.(map[string]any)["_sort"].([]any)[0].(float64)
			out = append(out, int64(v))
		}
		return out
	}
	created, expires, invalidated := dates("creation"), dates("expiration"), dates("invalidation")
	pick := func(vs []int64) int64 { return vs[rng.IntN(len(vs))] }
	dateQuery := func() string {
		ops := []string{"gt", "gte", "lt", "lte"}
		switch rng.IntN(8) {
		case 0:
			return fmt.Sprintf(`{"range": {"creation": {%q: %d, %q: %d}}}`, ops[rng.IntN(2)], pick(created), ops[2+rng.IntN(2)], pick(created))
		case 1:
			return fmt.Sprintf(`{"range": {"expiration": {%q: %d}}}`, ops[rng.IntN(4)], pick(expires))
		case 2:
			return fmt.Sprintf(`{"range": {"invalidation": {"gte": "%d", "lte": "now"}}}`, pick(invalidated))
		case 3:
			return fmt.Sprintf(`{"term": {"creation": %d}}`, pick(created))
		case 4:
			return []string{`{"exists": {"field": "expiration"}}`, `{"exists": {"field": "invalidation"}}`, `{"exists": {"field": "metadata.moved"}}`}[rng.IntN(3)]
		case 5:
			return []string{`{"term": {"invalidated": true}}`, `{"term": {"invalidated": {"value": "true"}}}`}[rng.IntN(2)]
		case 6:
			return `{"terms": {"type": ["cross_cluster"]}}`
		}
		return `{"range": {"expiration": {"gte": "now+2d", "lt": "now+4d"}}}`
	}
	nameQuery := func() string {
		p := parts[rng.IntN(len(parts))]
		switch rng.IntN(5) {
		case 0:
			return fmt.Sprintf(`{"prefix": {"name": %q}}`, p)
		case 1:
			return fmt.Sprintf(`{"wildcard": {"name": "%s*%d"}}`, p, rng.IntN(3))
		case 2:
			return fmt.Sprintf(`{"term": {"name": {"value": "%s%s%d"}}}`, p, parts[rng.IntN(len(parts))], rng.IntN(3))
		case 3:
			return fmt.Sprintf(`{"terms": {"name": ["%sa0", "%sb1"]}}`, p, p)
		}
		return fmt.Sprintf(`{"wildcard": {"name": {"value": "%s?*"}}}`, p)
	}
	others := []string{`{"term": {"metadata.team": "t1"}}`, `{"range": {"expiration": {"lte": "now+3d"}}}`,
		`{"exists": {"field": "expiration"}}`, `{"term": {"invalidated": false}}`, `{"prefix": {"metadata.team": "t"}}`}
	sorts := []string{`["name"]`, `[{"creation": "desc"}]`, `["expiration", "name"]`, `[{"username": "asc"}, {"name": "desc"}]`, `[]`}
	idsQuery := func() string {
		var some []string
		for range rng.IntN(6) {
			some = append(some, fmt.Sprintf("%q", ids[rng.IntN(len(ids))]))
		}
		some = append(some, `"no-such-key"`)
		return `{"ids": {"values": [` + strings.Join(some, ", ") + `]}}`
	}
	termQuery := func() string {
		switch rng.IntN(6) {
		case 0:
			return fmt.Sprintf(`{"term": {"metadata.team": "t%d"}}`, rng.IntN(5))
		case 1:
			return fmt.Sprintf(`{"terms": {"metadata.team": ["t%d", "t%d"]}}`, rng.IntN(5), rng.IntN(5))
		case 2:
			return `{"term": {"metadata.moved": {"value": "yes"}}}`
		case 4:
			return []string{`{"prefix": {"metadata.team": "t"}}`, `{"wildcard": {"metadata.team": "*1"}}`, `{"prefix": {"metadata": {"value": "Y", "case_insensitive": true}}}`,
				`{"term": {"metadata.tier": {"value": "IRON", "case_insensitive": true}}}`, `{"wildcard": {"type": {"wildcard": "cross*"}}}`,
				`{"wildcard": {"username": "` + ownerAuth[:2] + `*"}}`, `{"prefix": {"realm_name": "x"}}`}[rng.IntN(7)]
		case 3:
			return []string{`{"term": {"metadata.tier": "iron"}}`, `{"terms": {"metadata.tier": ["gold", "iron", "gold"]}}`,
				`{"terms": {"metadata.tags": ["a", "ab"]}}`, `{"term": {"metadata.tags": "a"}}`, `{"exists": {"field": "metadata.tier"}}`}[rng.IntN(5)]
		}
		return `{"term": {"username": "` + ownerAuth[:strings.IndexByte(ownerAuth, ':')] + `"}}`
	}
	sqsQuery := func() string { // simple_query_string over indexed fields
		fields := []string{`["name"]`, `["name", "metadata.team"]`, `["metadata"]`, `null`, `["metadata.*", "name^2"]`, `["username", "name", "creation"]`}[rng.IntN(6)]
		var toks []string
		for n := 1 + rng.IntN(3); len(toks) < n; {
			tok := []string{parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))] + fmt.Sprint(rng.IntN(3)), fmt.Sprint("t", rng.IntN(5)), "yes",
				`"ab0"`, ownerAuth[:strings.IndexByte(ownerAuth, ':')], fmt.Sprint(pick(created)), "cross_cluster"}[rng.IntN(7)]
			if fields == `["name"]` && rng.IntN(2) == 0 {
				tok = parts[rng.IntN(len(parts))] + "*"
			}
			sign := []string{"", "", "+", "|", "-"}[rng.IntN(5)]
			if len(toks) == 0 && sign == "-" {
				sign = ""
			}
			toks = append(toks, sign+tok)
		}
		op := []string{"", `, "default_operator": "and"`}[rng.IntN(2)]
		if fields != "null" {
			op += `, "fields": ` + fields
		}
		return fmt.Sprintf(`{"simple_query_string": {"query": %q%s}}`, strings.Join(toks, " "), op)
	}
	sqsPlain := func() string { // any of its tokens: counted by their indexes
		fields := []string{`["name"]`, `["name", "metadata.tier"]`, `["username", "name", "creation"]`, `["type", "invalidated"]`}[rng.IntN(4)]
		toks := []string{parts[rng.IntN(len(parts))], []string{"iron", "gold", "cross_cluster", "true"}[rng.IntN(4)], fmt.Sprint(pick(created))}
		if fields == `["name"]` {
			toks[0] += "*" // prefixes of names only: no index of other fields' prefixes
		}
		rng.Shuffle(len(toks), func(i, j int) { toks[i], toks[j] = toks[j], toks[i] })
		return fmt.Sprintf(`{"simple_query_string": {"query": %q, "fields": %s}}`, strings.Join(toks[:1+rng.IntN(3)], " | "), fields)
	}
	query := func() string {
		q := nameQuery()
		switch rng.IntN(7) {
		case 0:
			q = idsQuery()
		case 1:
			q = termQuery()
			if rng.IntN(2) == 0 {
				q = fmt.Sprintf(`{"bool": {"must": [%s, %s]}}`, q, nameQuery())
			}
		case 2:
			q = dateQuery()
			if rng.IntN(4) == 0 {
				q = fmt.Sprintf(`{"range": {"metadata.team": {"gt": "t%d", "lte": "t%d"}}}`, rng.IntN(3), 1+rng.IntN(4))
			}
			if rng.IntN(3) == 0 {
				q = fmt.Sprintf(`{"bool": {"filter": [%s, %s]}}`, q, []string{nameQuery(), termQuery(), dateQuery()}[rng.IntN(3)])
			}
		case 3:
			q = sqsQuery()
		case 4: // any of several indexed queries
			q = fmt.Sprintf(`{"bool": {"should": [%s, %s]}}`, []string{nameQuery(), idsQuery(), dateQuery()}[rng.IntN(3)], []string{termQuery(), dateQuery()}[rng.IntN(2)])
			if rng.IntN(2) == 0 {
				q = fmt.Sprintf(`{"bool": {"filter": {"exists": {"field": "name"}}, "should": [%s, %s], "minimum_should_match": 1}}`, nameQuery(), idsQuery())
			}
		}
		if rng.IntN(2) == 0 {
			q = fmt.Sprintf(`{"bool": {"filter": [%s, %s], "must_not": {"term": {"metadata.team": "t2"}}}}`, q, others[rng.IntN(len(others))])
		}
		return q
	}
	// A page of every key sorted by one indexed field, after a cursor or
	// not, is read in that field's order.
	cursor := func(field string) string {
		switch field {
		case "name":
			return fmt.Sprintf("%q", []string{"", "a", "ab", "b0", "key-1", "key-12key-12", "x", "zz"}[rng.IntN(8)])
		case "username":
			return []string{`""`, `"a"`, `"zzz"`, `null`, fmt.Sprintf("%q", ownerAuth[:strings.IndexByte(ownerAuth, ':')])}[rng.IntN(5)]
		case "expiration":
			return []string{fmt.Sprint(pick(expires)), fmt.Sprint(pick(expires) + 1), "9223372036854775807", "-9223372036854775808", `"now+3d"`}[rng.IntN(5)]
		}
		return fmt.Sprint(pick(created))
	}
	walkRequest := func() (string, string) {
		field := []string{"name", "username", "creation", "_doc", "expiration"}[rng.IntN(5)]
		order := []string{`"asc"`, `"desc"`, `"DESC"`, `{"order": "desc"}`, `{}`}[rng.IntN(5)]
		rest := fmt.Sprintf(`"sort": [{%q: %s}], "size": %d`, field, order, rng.IntN(30))
		after := cursor(strings.Replace(field, "_doc", "creation", 1))
		switch rng.IntN(4) {
		case 0:
			rest = fmt.Sprintf(`"sort": %q, "size": %d`, field, rng.IntN(30))
		case 1: // ties on the first field ordered by a further one
			then := []string{"name", "expiration", "username"}[rng.IntN(3)]
			rest = fmt.Sprintf(`"sort": [{%q: %s}, {%q: %s}], "size": %d`, field, order, then, []string{`"asc"`, `"desc"`}[rng.IntN(2)], rng.IntN(30))
			after += ", " + cursor(then)
		}
		if rng.IntN(2) == 0 {
			rest += `, "search_after": [` + after + `]`
		} else {
			rest += fmt.Sprintf(`, "from": %d`, rng.IntN(150))
		}
		return `{"match_all": {}}`, rest
	}
	indexedScans := 0 // an index holding more than half the keys is not read
	defer func() {
		if indexedScans > 500/20 {
			t.Errorf("%d of 500 indexed queries read every key", indexedScans)
		}
	}()
	for i := range 500 {
		q := query()
		rest := fmt.Sprintf(`"sort": %s, "size": %d, "from": %d`, sorts[rng.IntN(len(sorts))], 1+rng.IntN(30), rng.IntN(5))
		if i%3 == 0 {
			rest += `, "aggs": {"teams": {"terms": {"field": "metadata.team"}}, "names": {"terms": {"field": "name", "size": 3}}}`
		} else if i%3 == 1 {
			q, rest = walkRequest()
			if rng.IntN(2) == 0 { // one index's entries, read in another's order
				q = []string{termQuery(), dateQuery(), fmt.Sprintf(`{"prefix": {"name": %q}}`, parts[rng.IntN(len(parts))]), sqsPlain()}[rng.IntN(4)]
				switch rng.IntN(4) {
				case 0:
					q = `{"bool": {"filter": [` + q + `]}}`
				case 1: // every key but its entries, when they count them
					if not := `{"bool": {"must_not": [` + q + `]}}`; es.ServedByIndex(`{"query": `+not+`}`) != "" {
						q = not
					}
				case 2: // the entries of several but of none of others: counted on bitmaps
					q = fmt.Sprintf(`{"bool": {"filter": [%s, %s], "must_not": [%s]}}`, q, []string{termQuery(), dateQuery()}[rng.IntN(2)], []string{
						`{"term": {"invalidated": true}}`, fmt.Sprintf(`{"prefix": {"name": %q}}`, parts[rng.IntN(len(parts))]), dateQuery()}[rng.IntN(3)])
				}
				if rng.IntN(4) == 0 {
					rest = rest[strings.Index(rest, `"size"`):] // unsorted: by creation
					rest = strings.Split(rest, `, "search_after"`)[0]
				}
			}
		}
		indexedBody := `{"query": ` + q + `, ` + rest + `}`
		scannedBody := `{"query": {"bool": {"must_not": {"bool": {"must_not": [` + q + `]}}}}, ` + rest + `}`
		if plan := es.ServedByIndex(indexedBody); plan == "" {
			t.Fatalf("%s is not served by an index", indexedBody)
		}
		if plan := es.ServedByIndex(scannedBody); plan != "" {
			t.Fatalf("%s is served by %s", scannedBody, plan)
		}
		before := es.Scans()
		indexed := esDo(t, "POST", base+"/_security/_query/api_key", auth, indexedBody).Must(t, 200)
		if !strings.HasSuffix(es.ServedByIndex(indexedBody), "else a scan") {
			indexedScans += int(es.Scans() - before)
		}
		scanned := esDo(t, "POST", base+"/_security/_query/api_key", auth, scannedBody).Must(t, 200)
		if !reflect.DeepEqual(indexed.Body, scanned.Body) {
			t.Fatalf("query %s, %s:\nindexed %v\nscanned %v", q, rest, indexed.Body, scanned.Body)
		}
	}
	// A name (or username) prefix, alone or with other clauses, read in
	// that field's order from where the prefix starts, or in another's
	// passing over the records the clauses' bitmap leaves out.
	for range 200 {
		p := parts[rng.IntN(len(parts))]
		switch name := names[rng.IntN(len(names))]; rng.IntN(3) {
		case 0:
			p = name[:1+rng.IntN(len(name))]
		case 1: // some names are the prefix itself
			p = name
		}
		q := fmt.Sprintf(`{"prefix": {"name": %q}}`, p)
		switch rng.IntN(4) {
		case 0:
			q = fmt.Sprintf(`{"bool": {"filter": [%s, %s], "must_not": {"term": {"invalidated": true}}}}`, q, dateQuery())
		case 1:
			q = fmt.Sprintf(`{"bool": {"filter": [%s, {"prefix": {"name": %q}}, %s]}}`, q, p+parts[rng.IntN(len(parts))][:1], termQuery())
		case 2:
			q = fmt.Sprintf(`{"prefix": {"username": %q}}`, ownerAuth[:rng.IntN(4)])
		}
		field := []string{"name", "name", "name", "username", "expiration", "creation"}[rng.IntN(6)]
		if rng.IntN(4) == 0 { // a range of creation, read in its order from where it starts
			ops := []string{"gt", "gte", "lt", "lte"}
			q, field = fmt.Sprintf(`{"range": {"creation": {%q: %d, %q: %d}}}`, ops[rng.IntN(2)], pick(created), ops[2+rng.IntN(2)], pick(created)), "creation"
			if rng.IntN(2) == 0 {
				q = fmt.Sprintf(`{"bool": {"filter": [%s, {"prefix": {"name": %q}}], "must_not": {"term": {"invalidated": true}}}}`, q, p)
			}
		}
		order := []string{`"asc"`, `"desc"`}[rng.IntN(2)]
		rest := fmt.Sprintf(`"sort": [{%q: %s}], "size": %d`, field, order, rng.IntN(40))
		after := cursor(field)
		if rng.IntN(2) == 0 { // ties on the first field ordered by a further one
			then := []string{"name", "expiration"}[rng.IntN(2)]
			rest = fmt.Sprintf(`"sort": [{%q: %s}, {%q: %s}], "size": %d`, field, order, then, []string{`"asc"`, `"desc"`}[rng.IntN(2)], rng.IntN(40))
			after += ", " + cursor(then)
		}
		if field == "name" && rng.IntN(2) == 0 { // a cursor within the prefix's names, or next to them
			after = fmt.Sprintf("%q", p+[]string{"", "a", "key-1", "~"}[rng.IntN(4)]) + after[strings.Index(after+",", ","):]
		}
		if rng.IntN(2) == 0 {
			rest += `, "search_after": [` + after + `]`
		} else {
			rest += fmt.Sprintf(`, "from": %d`, rng.IntN(3))
		}
		indexedBody := `{"query": ` + q + `, ` + rest + `}`
		scannedBody := `{"query": {"bool": {"must_not": {"bool": {"must_not": [` + q + `]}}}}, ` + rest + `}`
		if plan := es.ServedByIndex(indexedBody); plan == "" {
			t.Fatalf("%s is not served by an index", indexedBody)
		}
		indexed := esDo(t, "POST", base+"/_security/_query/api_key", auth, indexedBody).Must(t, 200)
		scanned := esDo(t, "POST", base+"/_security/_query/api_key", auth, scannedBody).Must(t, 200)
		if !reflect.DeepEqual(indexed.Body, scanned.Body) {
			t.Fatalf("query %s, %s:\nindexed %v\nscanned %v", q, rest, indexed.Body, scanned.Body)
		}
	}
}

// TestPagesOfEveryKeyByCreationAnswerAsScans: over keys created within
// the same milliseconds, a page of every key sorted by creation (or not
// sorted), read from the ends of the creation index, is exactly the
// page a scan finds, total included.
func TestPagesOfEveryKeyByCreationAnswerAsScans(t *testing.T) {
	a := startApp(t)
	base, auth := a.URL(), basic(ownerAuth)
	for i := range 60 {
		esDo(t, "POST", base+"/_security/api_key", auth, fmt.Sprintf(`{"name": "k%d"}`, i%7)).Must(t, 200)
	}
	rng := rand.New(rand.NewPCG(27, 4))
	sorts := []string{``, `"sort": ["creation"], `, `"sort": [{"creation": "desc"}], `, `"sort": [{"_doc": {"order": "asc"}}], `,
		`"sort": "creation", `, `"sort": [{"creation": {"order": "desc"}}], `}
	for range 80 {
		page := fmt.Sprintf(`%s"from": %d, "size": %d`, sorts[rng.IntN(len(sorts))], rng.IntN(70), rng.IntN(70))
		indexed := `{` + page + `}`
		if rng.IntN(2) == 0 {
			indexed = `{"query": {"match_all": {}}, ` + page + `}`
		}
		if !es.ReadsCreationEnds(indexed) {
			t.Fatalf("%s is not read from the creation index", indexed)
		}
		scanned := `{"query": {"bool": {"should": {"match_all": {}}}}, ` + page + `}`
		if es.ReadsCreationEnds(scanned) {
			t.Fatalf("%s is read from the creation index", scanned)
		}
		a := esDo(t, "POST", base+"/_security/_query/api_key", auth, indexed).Must(t, 200)
		b := esDo(t, "POST", base+"/_security/_query/api_key", auth, scanned).Must(t, 200)
		if !reflect.DeepEqual(a.Body, b.Body) {
			t.Fatalf("%s:\nindexed %v\nscanned %v", indexed, a.Body, b.Body)
		}
	}
	for _, body := range []string{`{"sort": ["name"]}`, `{"sort": ["creation", "name"]}`, `{"query": {"term": {"name": "k1"}}}`,
		`{"search_after": [1], "sort": ["creation"]}`, `{"size": 0}`} {
		if es.ReadsCreationEnds(body) {
			t.Errorf("%s is read from the creation index", body)
		}
	}
}

// TestQueriesBoundByIDsLookThemUp: an ids query, alone or required by a
// bool, is answered by looking its ids up; under should or must_not, by a
// scan.
func TestQueriesBoundByIDsLookThemUp(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  bool
	}{
		{`{"ids": {"values": ["a", "b"]}}`, true},
		{`{"bool": {"filter": [{"prefix": {"name": "k"}}, {"ids": {"values": ["a"]}}]}}`, true},
		{`{"bool": {"must": {"ids": {"values": []}}}}`, true},
		{`{"bool": {"should": {"ids": {"values": ["a"]}}}}`, false},
		{`{"bool": {"must_not": {"ids": {"values": ["a"]}}}}`, false},
		{`{"term": {"name": "a"}}`, false},
	} {
		if got := es.ReadsIDs(tt.query); got != tt.want {
			t.Errorf("%s: looks ids up %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestRequiredTermsOfIndexedFieldsAreRead: term and terms queries on the
// fields a term index holds (username, realm_name, metadata.<path>),
// required by the query, are read from it; others are not.
func TestRequiredTermsOfIndexedFieldsAreRead(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{`{"term": {"metadata.team": "t1"}}`, "metadata.team"},
		{`{"terms": {"username": ["a", "b"]}}`, "username"},
		{`{"bool": {"filter": [{"term": {"realm_name": "native"}}, {"term": {"metadata.a.b": {"value": "x"}}}]}}`, "realm_name,metadata.a.b"},
		{`{"term": {"metadata.team": {"value": "t1", "case_insensitive": true}}}`, ""},
		{`{"term": {"metadata": "t1"}}`, ""},
		{`{"term": {"name": "t1"}}`, ""},
		{`{"term": {"metadata.n": 7}}`, ""},
		{`{"bool": {"should": [{"term": {"username": "a"}}]}}`, ""},
		{`{"bool": {"must_not": {"term": {"username": "a"}}}}`, ""},
	} {
		if got := strings.Join(es.TermFieldsOf(tt.query), ","); got != tt.want {
			t.Errorf("%s: term fields %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestQueriesThatBoundNoNamePrefixScan: the planner reads the name index
// only for what requires a name prefix of every match.
func TestQueriesThatBoundNoNamePrefixScan(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{`{"prefix": {"name": "key-1"}}`, "key-1"},
		{`{"wildcard": {"name": "key-4242*"}}`, "key-4242"},
		{`{"wildcard": {"name": {"wildcard": "ab?c"}}}`, "ab"},
		{`{"term": {"name": "exact"}}`, "exact"},
		{`{"terms": {"name": ["key-12", "key-13"]}}`, "key-1"},
		{`{"bool": {"filter": [{"range": {"creation": {"gte": "now-1d"}}}, {"prefix": {"name": "key-99"}}]}}`, "key-99"},
		{`{"bool": {"must": {"prefix": {"name": "k"}}, "filter": {"bool": {"must": [{"prefix": {"name": "key"}}]}}}}`, "key"},
		{`{"prefix": {"name": {"value": "key", "case_insensitive": true}}}`, ""},
		{`{"bool": {"should": [{"prefix": {"name": "key"}}]}}`, ""},
		{`{"bool": {"must_not": {"prefix": {"name": "key"}}}}`, ""},
		{`{"wildcard": {"name": "*key"}}`, ""},
		{`{"prefix": {"username": "key"}}`, ""},
		{`{"term": {"name": 12}}`, ""},
		{`{"match_all": {}}`, ""},
		{`{"simple_query_string": {"query": "key*", "fields": ["name"]}}`, ""},
	} {
		if got := es.NamePrefixOf(tt.query); got != tt.want {
			t.Errorf("%s: prefix %q, want %q", tt.query, got, tt.want)
		}
	}
	if got := es.NamePrefixOf(""); got != "" {
		t.Errorf("no query: prefix %q", got)
	}
}
