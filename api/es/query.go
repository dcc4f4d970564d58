package es

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// rec is what the query API matches: a key's record in the project index.
type rec = *projections.KeyRecord

// keyField resolves the fields of the query API key API, as Elasticsearch
// names them.
func keyField(name string) (esquery.Field[rec], bool) {
	kw := func(get func(rec) string) esquery.Field[rec] {
		return esquery.Field[rec]{Type: esquery.Keyword, Any: func(k rec, p func(string) bool) bool { return p(get(k)) }, One: get}
	}
	date := func(get func(rec) int64) esquery.Field[rec] {
		return esquery.Field[rec]{Type: esquery.Date, Millis: func(k rec) (int64, bool) { ms := get(k); return ms, ms != 0 }}
	}
	switch name {
	case "name":
		return kw(func(k rec) string { return k.Name }), true
	case "username":
		return kw(func(k rec) string { return k.User() }), true
	case "realm_name":
		return kw(func(k rec) string { return k.Realm() }), true
	case "type":
		return kw(recordType), true
	case "creation":
		return date(func(k rec) int64 { return k.Created }), true
	case "expiration":
		return date(func(k rec) int64 { return k.Expires }), true
	case "invalidation":
		return date(func(k rec) int64 { return k.InvalidatedAt }), true
	case "invalidated":
		return esquery.Field[rec]{Type: esquery.Boolean, Bool: func(k rec) bool { return k.Invalidated }}, true
	}
	if path, ok := strings.CutPrefix(name, "metadata"); ok && (path == "" || path[0] == '.') && !strings.ContainsAny(path, "*?") {
		path = strings.TrimPrefix(path, ".")
		return esquery.Field[rec]{Type: esquery.Keyword, Any: func(k rec, p func(string) bool) bool {
			return esquery.AnyMetadata(k.Metadata, path, p)
		}}, true
	}
	return esquery.Field[rec]{}, false
}

// recordType is a key's type as Elasticsearch names it.
func recordType(k rec) string {
	if k.CrossCluster {
		return domain.ESTypeCrossCluster
	}
	return domain.ESTypeRest
}

// keySortField adds _doc (index order, here creation order) to the fields.
func keySortField(name string) (esquery.Field[rec], bool) {
	if name == "_doc" {
		name = "creation"
	}
	return keyField(name)
}

var keySchema = esquery.Schema[rec]{
	Field:     keyField,
	SortField: keySortField,
	ID:        func(k rec) string { return string(k.ID) },
	Default:   []string{"metadata", "name", "realm_name", "type", "username"},
}

// ownsRecord is esOwns for an index record.
func ownsRecord(p domain.Principal, k rec) bool {
	return p.Owns(k.ID, domain.Owner{User: k.User(), Realm: k.Realm()})
}

// maxResultWindow bounds from+size, as Elasticsearch's index setting does.
const maxResultWindow = 10000

type esQueryRequest struct {
	Query        json.RawMessage `json:"query"`
	From         *int            `json:"from"`
	Size         *int            `json:"size"`
	Sort         json.RawMessage `json:"sort"`
	SearchAfter  json.RawMessage `json:"search_after"`
	Aggs         json.RawMessage `json:"aggs"`
	Aggregations json.RawMessage `json:"aggregations"`
}

// hit is a matching key, as much as sorting and paging need.
type hit struct {
	id      domain.KeyID
	created int64
	key     esquery.Key
}

func (s *Server) esQueryKeys(x *esReq) error {
	if err := esParams(x.r, "with_limited_by", "typed_keys", "with_profile_uid"); err != nil {
		return err
	}
	withLimitedBy, err := esBool(x.r, "with_limited_by", false)
	if err != nil {
		return err
	}
	typedKeys, err := esBool(x.r, "typed_keys", false)
	if err != nil {
		return err
	}
	// keyplane's users have no profiles: with_profile_uid adds nothing
	// (Elasticsearch shows profile_uid only where one exists).
	if _, err := esBool(x.r, "with_profile_uid", false); err != nil {
		return err
	}
	var req esQueryRequest
	if err := httpx.DecodeBody(x.r, &req, true); err != nil {
		return err
	}
	from, size, err := pageOf(req)
	if err != nil {
		return err
	}
	onlyOwn := false
	if !x.can(domain.ActionQueryKey, false) {
		if x.p.Kind == domain.ActorKey && withLimitedBy {
			return x.denied(domain.ActionQueryKey)
		}
		if err := x.authorize(domain.ActionQueryKey, true); err != nil {
			return err
		}
		onlyOwn = true // manage_own_api_key: the query sees the caller's keys only
	}
	now := s.now()
	q, err := esquery.Parse(req.Query, keySchema, now)
	if err != nil {
		return err
	}
	srt, err := esquery.ParseSort(req.Sort, keySchema)
	if err != nil {
		return err
	}
	aggs, err := parseAggs(req, now)
	if err != nil {
		return err
	}
	var after esquery.Key
	if len(req.SearchAfter) > 0 && string(req.SearchAfter) != "null" {
		if srt.Len() == 0 {
			return domain.Invalid("[search_after] needs a sort")
		}
		if from > 0 {
			return domain.Invalid("[from] parameter must be set to 0 when [search_after] is used")
		}
		if after, err = srt.After(req.SearchAfter, now); err != nil {
			return err
		}
	}
	var matched *[]rec
	if aggs.Len() > 0 {
		// A pooled buffer, as the scan's own: 800 KB for 100,000 matches.
		matched = recordBufs.Get().(*[]rec)
		*matched = (*matched)[:0]
		defer func() {
			clear(*matched) // a pooled buffer must not keep records alive
			*matched = (*matched)[:0]
			recordBufs.Put(matched)
		}()
	}
	page, total, err := x.search(q, srt, after, onlyOwn, from, size, matched, planRequest(req, from, size, onlyOwn, aggs.Len() > 0, now, after))
	if err != nil {
		return err
	}
	views := make([]esKeyView, 0, len(page))
	for _, h := range page {
		k, ok := s.keys.Get(x.org.ID, h.id)
		if !ok || !x.inProject(&k) || onlyOwn && !esOwns(x.p, &k) {
			// An index record a second KeyCreated left behind: the key
			// is now of another project, or another owner's.
			continue
		}
		v := s.esView(&k, withLimitedBy)
		if srt.Len() > 0 {
			v.Sort = srt.JSON(h.key)
		}
		views = append(views, v)
	}
	resp := map[string]any{"total": total, "count": len(views), "api_keys": views}
	if matched != nil {
		// Over the keys the query matched for this caller, as the hits.
		if resp["aggregations"], err = aggs.Run(*matched, typedKeys); err != nil {
			return err
		}
	}
	return x.write(http.StatusOK, resp)
}

// parseAggs compiles the request's aggs or aggregations (one of them).
func parseAggs(req esQueryRequest, now time.Time) (esquery.Aggs[rec], error) {
	raw := req.Aggs
	if len(req.Aggregations) > 0 {
		if len(raw) > 0 {
			return esquery.Aggs[rec]{}, domain.Invalid("Found two aggregation definitions: [aggs] and [aggregations]")
		}
		raw = req.Aggregations
	}
	return esquery.ParseAggs(raw, keySchema, now)
}

func pageOf(req esQueryRequest) (from, size int, err error) {
	from, size = 0, 10
	if req.From != nil {
		from = *req.From
	}
	if req.Size != nil {
		size = *req.Size
	}
	switch {
	case from < 0:
		return 0, 0, domain.Invalid("[from] parameter cannot be negative but was [%d]", from)
	case size < 0:
		return 0, 0, domain.Invalid("[size] parameter cannot be negative but was [%d]", size)
	case uint64(from)+uint64(size) > maxResultWindow: // unsigned: two huge ints must not wrap to a small window
		return 0, 0, domain.Invalid("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]", maxResultWindow, uint64(from)+uint64(size))
	}
	return from, size, nil
}

// search evaluates the query over the project's key records, keeping only
// the from+size best hits in a bounded heap (a scan allocates for kept hits
// only); total counts every match (search_after does not change it, as in
// Elasticsearch). The page is returned in order.
//
// The index's lock is held only to copy the record pointers (records never
// change once indexed): a slow query does not hold up the folding of
// creates and revocations. The scan stops when the client has gone.
// matched, when not nil, gets every match (search_after and paging
// aside), for the aggregations.
func (x *esReq) search(q esquery.Query[rec], srt esquery.Sort[rec], after esquery.Key, onlyOwn bool, from, size int, matched *[]rec, pl plan) ([]hit, int, error) {
	buf := recordBufs.Get().(*[]rec)
	recs, known := x.candidates(pl, q, srt, after, (*buf)[:0])
	defer func() {
		clear(recs) // a pooled buffer must not keep records alive
		*buf = recs[:0]
		recordBufs.Put(buf)
	}()
	if hook := searchHook.Load(); hook != nil {
		(*hook)()
	}
	top := &topHits{k: from + size, less: func(a, b *hit) bool {
		if c := srt.Compare(a.key, b.key); c != 0 {
			return c < 0
		}
		if a.created != b.created {
			return a.created < b.created
		}
		return a.id < b.id
	}}
	total := 0
	var scratch esquery.Key
	ctx := x.r.Context()
	for i, k := range recs {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, 0, clientGone(ctx)
		}
		if onlyOwn && !ownsRecord(x.p, k) || !q(k) {
			continue
		}
		total++
		if matched != nil {
			*matched = append(*matched, k)
		}
		h := hit{id: k.ID, created: k.Created}
		if srt.Len() > 0 {
			scratch = srt.KeyInto(scratch, k)
			if after != nil && srt.Compare(scratch, after) <= 0 {
				continue // before the page; still counted in total
			}
			h.key = scratch
		}
		top.offer(h)
	}
	if known >= 0 {
		total = known // the candidates were only the page's (planRequest)
	}
	page := top.sorted()
	if from >= len(page) {
		return nil, total, nil
	}
	return page[from:], total, nil
}

// recordBufs are the buffers queries copy a project's record pointers into:
// 800 KB for 100,000 keys, not to be allocated anew by every query.
var recordBufs = sync.Pool{New: func() any { return new([]rec) }}

// searchHook, when set (by tests), runs when a query has copied its
// records, before it evaluates: the index's lock is not held there.
var searchHook atomic.Pointer[func()]

// clientGone is the error of a request whose client went away mid-work:
// nobody reads the answer, the work just stops.
func clientGone(ctx context.Context) error {
	return &domain.Error{Kind: domain.KindUnavailable, Reason: "the request ended before its answer was ready", Err: context.Cause(ctx)}
}

// topHits is a max-heap of the k best hits: the worst kept sits on top,
// so most hits of a large scan are refused after one comparison.
type topHits struct {
	k    int
	hits []hit
	less func(a, b *hit) bool
	in   hit
}

// offer keeps h if it is among the k best so far. h.key is the caller's
// scratch: a kept hit gets a copy, in the storage of the hit it evicts
// when there is one, so a full heap allocates nothing.
func (t *topHits) offer(h hit) bool {
	if t.k == 0 {
		return false
	}
	if len(t.hits) < t.k {
		if h.key != nil {
			h.key = append(esquery.Key(nil), h.key...)
		}
		t.hits = append(t.hits, h)
		for i := len(t.hits) - 1; i > 0; {
			parent := (i - 1) / 2
			if !t.less(&t.hits[parent], &t.hits[i]) {
				break
			}
			t.hits[parent], t.hits[i] = t.hits[i], t.hits[parent]
			i = parent
		}
		return true
	}
	// The offered hit is compared from t's storage: &h would move every
	// offered hit to the heap (less is a func value).
	t.in = h
	if !t.less(&t.in, &t.hits[0]) {
		return false
	}
	if h.key != nil {
		h.key = append(t.hits[0].key[:0], h.key...)
	}
	t.hits[0] = h
	for i := 0; ; {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(t.hits) && t.less(&t.hits[worst], &t.hits[l]) {
			worst = l
		}
		if r < len(t.hits) && t.less(&t.hits[worst], &t.hits[r]) {
			worst = r
		}
		if worst == i {
			return true
		}
		t.hits[i], t.hits[worst] = t.hits[worst], t.hits[i]
		i = worst
	}
}

// sorted returns the kept hits, best first.
func (t *topHits) sorted() []hit {
	sort.Slice(t.hits, func(i, j int) bool { return t.less(&t.hits[i], &t.hits[j]) })
	return t.hits
}
