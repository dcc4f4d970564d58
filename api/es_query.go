package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
)

// keyFields are the fields of the query API key API, as Elasticsearch
// names them.
func keyField(name string) (esquery.Field[*domain.Key], bool) {
	kw := func(get func(*domain.Key) string) esquery.Field[*domain.Key] {
		return esquery.Field[*domain.Key]{Type: esquery.Keyword, Any: func(k *domain.Key, p func(string) bool) bool { return p(get(k)) }}
	}
	switch name {
	case "name":
		return kw(func(k *domain.Key) string { return k.Name }), true
	case "username":
		return kw(func(k *domain.Key) string { return k.Owner.User }), true
	case "realm_name":
		return kw(func(k *domain.Key) string { return k.Owner.Realm }), true
	case "type":
		return kw(func(*domain.Key) string { return "rest" }), true
	case "creation":
		return esquery.Field[*domain.Key]{Type: esquery.Date, Millis: func(k *domain.Key) (int64, bool) { return k.Created.UnixMilli(), true }}, true
	case "expiration":
		return esquery.Field[*domain.Key]{Type: esquery.Date, Millis: func(k *domain.Key) (int64, bool) {
			return k.Expires.UnixMilli(), !k.Expires.IsZero()
		}}, true
	case "invalidation":
		return esquery.Field[*domain.Key]{Type: esquery.Date, Millis: func(k *domain.Key) (int64, bool) {
			return k.InvalidatedAt.UnixMilli(), k.Invalidated
		}}, true
	case "invalidated":
		return esquery.Field[*domain.Key]{Type: esquery.Boolean, Bool: func(k *domain.Key) bool { return k.Invalidated }}, true
	}
	if path, ok := strings.CutPrefix(name, "metadata"); ok && (path == "" || path[0] == '.') && !strings.ContainsAny(path, "*?") {
		path = strings.TrimPrefix(path, ".")
		return esquery.Field[*domain.Key]{Type: esquery.Keyword, Any: func(k *domain.Key, p func(string) bool) bool {
			return esquery.AnyFlattened(k.Metadata, path, p)
		}}, true
	}
	return esquery.Field[*domain.Key]{}, false
}

// keySortField adds _doc (index order, here creation order) to the fields.
func keySortField(name string) (esquery.Field[*domain.Key], bool) {
	if name == "_doc" {
		name = "creation"
	}
	return keyField(name)
}

var keySchema = esquery.Schema[*domain.Key]{
	Field:     keyField,
	SortField: keySortField,
	ID:        func(k *domain.Key) string { return string(k.ID) },
	Default:   []string{"metadata", "name", "realm_name", "type", "username"},
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
	if err := esParams(x.r, "with_limited_by", "typed_keys"); err != nil {
		return err
	}
	withLimitedBy, err := esBool(x.r, "with_limited_by", false)
	if err != nil {
		return err
	}
	var req esQueryRequest
	if err := decodeBody(x.r, &req, true); err != nil {
		return err
	}
	if len(req.Aggs) > 0 || len(req.Aggregations) > 0 {
		return domain.Invalid("aggregations are not supported by keyplane's query API key API")
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
	hits, total := x.search(q, srt, after, onlyOwn)
	page := pageHits(hits, srt, from, size)
	views := make([]esKeyView, 0, len(page))
	for _, h := range page {
		k, ok := s.Keys.Get(x.org.ID, h.id)
		if !ok {
			continue
		}
		v := s.esView(&k, withLimitedBy)
		if srt.Len() > 0 {
			v.Sort = srt.JSON(h.key)
		}
		views = append(views, v)
	}
	return x.write(http.StatusOK, map[string]any{"total": total, "count": len(views), "api_keys": views})
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
	case from+size > maxResultWindow:
		return 0, 0, domain.Invalid("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]", maxResultWindow, from+size)
	}
	return from, size, nil
}

// search evaluates the query over the project's keys under the key list's
// read lock, copying only what sorting needs; total counts every match
// (search_after does not change it, as in Elasticsearch).
func (x *esReq) search(q esquery.Query[*domain.Key], srt esquery.Sort[*domain.Key], after esquery.Key, onlyOwn bool) ([]hit, int) {
	var hits []hit
	total := 0
	x.s.Keys.Scan(x.org.ID, func(k *domain.Key) {
		if !x.inProject(k) || onlyOwn && !esOwns(x.p, k) || !q(k) {
			return
		}
		total++
		h := hit{id: k.ID, created: k.Created.UnixMilli()}
		if srt.Len() > 0 {
			h.key = srt.Key(k)
			if after != nil && srt.Compare(h.key, after) <= 0 {
				return
			}
		}
		hits = append(hits, h)
	})
	return hits, total
}

// pageHits orders the hits (ties by creation, then id, so paging is
// stable) and returns hits[from:from+size]. When the page is small, it
// selects it without sorting everything.
func pageHits(hits []hit, srt esquery.Sort[*domain.Key], from, size int) []hit {
	less := func(a, b *hit) bool {
		if c := srt.Compare(a.key, b.key); c != 0 {
			return c < 0
		}
		if a.created != b.created {
			return a.created < b.created
		}
		return a.id < b.id
	}
	n := from + size
	if n == 0 || from >= len(hits) {
		return nil
	}
	if n >= len(hits) || n > 256 {
		sort.Slice(hits, func(i, j int) bool { return less(&hits[i], &hits[j]) })
	} else {
		selectSmallest(hits, n, less)
	}
	return hits[from:min(n, len(hits))]
}

// selectSmallest moves the n smallest hits, sorted, to the front: one pass
// with insertion into a sorted prefix, O(len·n) in the worst case and
// about O(len) for the small pages queries ask for.
func selectSmallest(hits []hit, n int, less func(a, b *hit) bool) {
	sort.Slice(hits[:n], func(i, j int) bool { return less(&hits[i], &hits[j]) })
	for i := n; i < len(hits); i++ {
		if !less(&hits[i], &hits[n-1]) {
			continue
		}
		h := hits[i]
		j := n - 1
		for j > 0 && less(&h, &hits[j-1]) {
			j--
		}
		hits[i] = hits[n-1]
		copy(hits[j+1:n], hits[j:n-1])
		hits[j] = h
	}
}
