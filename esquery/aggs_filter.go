package esquery

import (
	"slices"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// filter and filters: buckets of the documents a query matches, among
// those of the enclosing bucket (so never a key the request's own query
// or visibility left out).

type filterAgg[D any] struct{ q Query[D] }

func (p *aggParser[D]) filter(n *node[D], body any) error {
	q, err := p.c.query(body, 0)
	if err != nil {
		return err
	}
	n.typ, n.impl, n.fanout, n.perDoc, n.evals = "filter", filterAgg[D]{q}, 1, 1, 1
	return nil
}

func (a filterAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	return singleBucket(n, docs, typed, a.q)
}

// singleBucket is the one bucket of the documents that match (filter,
// missing): its doc_count and, below it, its sub-aggregations.
func singleBucket[D any](n *node[D], docs []D, typed bool, match func(D) bool) (map[string]any, error) {
	t := newTally(n, 1)
	for _, d := range docs {
		if match(d) {
			t.add(0, d)
		}
	}
	return t.body(0, typed, map[string]any{})
}

type keyedQuery[D any] struct {
	key string
	q   Query[D]
}

type filtersAgg[D any] struct {
	filters []keyedQuery[D]
	named   bool // filters given as an object: their buckets show their keys
	keyed   bool // buckets answered as an object by key, not a list
	other   string
}

func (p *aggParser[D]) filters(n *node[D], body any) error {
	m, err := params(n.name, "filters", body, "filters", "other_bucket", "other_bucket_key", "keyed")
	if err != nil {
		return err
	}
	a := filtersAgg[D]{}
	switch fs := m["filters"].(type) {
	case map[string]any:
		a.named, a.keyed = true, true
		if len(fs) > MaxAggEntries {
			return domain.Invalid("[filters] of [%s] lists %d filters, over the limit of %d", n.name, len(fs), MaxAggEntries)
		}
		for k := range fs {
			a.filters = append(a.filters, keyedQuery[D]{key: k})
		}
		// Elasticsearch answers named filters in the order of their keys.
		slices.SortFunc(a.filters, func(x, y keyedQuery[D]) int { return strings.Compare(x.key, y.key) })
		for i := range a.filters {
			if a.filters[i].q, err = p.c.query(fs[a.filters[i].key], 0); err != nil {
				return err
			}
		}
	case []any:
		if len(fs) > MaxAggEntries {
			return domain.Invalid("[filters] of [%s] lists %d filters, over the limit of %d", n.name, len(fs), MaxAggEntries)
		}
		for _, v := range fs {
			q, err := p.c.query(v, 0)
			if err != nil {
				return err
			}
			a.filters = append(a.filters, keyedQuery[D]{q: q})
		}
	default:
		return parsingErr("[filters] of [%s] must be an object of named queries or a list of queries", n.name)
	}
	if k, ok := m["keyed"]; ok {
		b, ok := k.(bool)
		if !ok {
			return parsingErr("[keyed] of [%s] must be true or false", n.name)
		}
		a.keyed = b && a.named
	}
	if err := a.readOther(m, n.name); err != nil {
		return err
	}
	fan := len(a.filters)
	if a.other != "" {
		fan++
	}
	n.typ, n.impl, n.fanout, n.perDoc, n.evals = "filters", a, fan, fan, max(len(a.filters), 1)
	return nil
}

// readOther reads other_bucket and other_bucket_key (which implies it).
func (a *filtersAgg[D]) readOther(m map[string]any, name string) error {
	on := false
	if v, ok := m["other_bucket"]; ok {
		b, ok := v.(bool)
		if !ok {
			return parsingErr("[other_bucket] of [%s] must be true or false", name)
		}
		on = b
	}
	key := "_other_"
	if v, ok := m["other_bucket_key"]; ok {
		s, ok := v.(string)
		if !ok {
			return parsingErr("[other_bucket_key] of [%s] must be a string", name)
		}
		key, on = s, true
	}
	if on {
		a.other = key
	}
	return nil
}

func (a filtersAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	nb := len(a.filters)
	if a.other != "" {
		nb++
	}
	t := newTally(n, nb)
	for _, d := range docs {
		hit := false
		for i, f := range a.filters {
			if f.q(d) {
				hit = true
				t.add(i, d)
			}
		}
		if !hit && a.other != "" {
			t.add(nb-1, d)
		}
	}
	return assembleBuckets(nb, a.keyed, a.named, func(i int) (string, map[string]any, error) {
		key := a.other
		if i < len(a.filters) {
			key = a.filters[i].key
		}
		body, err := t.body(i, typed, map[string]any{})
		return key, body, err
	})
}

// tally counts documents into the buckets of an aggregation (filter,
// missing, filters, range) and, when it has sub-aggregations, keeps each bucket's
// documents for them.
type tally[D any] struct {
	n      *node[D]
	counts []int
	lists  [][]D // nil without sub-aggregations
}

func newTally[D any](n *node[D], buckets int) tally[D] {
	t := tally[D]{n: n, counts: make([]int, buckets)}
	if len(n.subs) > 0 {
		t.lists = make([][]D, buckets)
	}
	return t
}

// add counts d in bucket i.
func (t tally[D]) add(i int, d D) {
	t.counts[i]++
	if t.lists != nil {
		t.lists[i] = append(t.lists[i], d)
	}
}

// body is bucket i's answer in b: its doc_count and its sub-aggregations.
func (t tally[D]) body(i int, typed bool, b map[string]any) (map[string]any, error) {
	if t.lists != nil {
		return bucketBody(t.n, t.lists[i], typed, b)
	}
	b["doc_count"] = t.counts[i]
	return b, nil
}

// assembleBuckets assembles n buckets as Elasticsearch answers them: an
// object by key when keyed, else a list in order, each bucket with its key
// when withKey. bucket gives the i-th bucket's key and body.
func assembleBuckets(n int, keyed, withKey bool, bucket func(i int) (string, map[string]any, error)) (map[string]any, error) {
	byKey := map[string]any{}
	list := make([]any, 0, n)
	for i := 0; i < n; i++ {
		key, body, err := bucket(i)
		if err != nil {
			return nil, err
		}
		if keyed {
			byKey[key] = body
			continue
		}
		if withKey {
			body["key"] = key
		}
		list = append(list, body)
	}
	if keyed {
		return map[string]any{"buckets": byKey}, nil
	}
	return map[string]any{"buckets": list}, nil
}
