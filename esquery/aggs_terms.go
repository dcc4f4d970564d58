package esquery

import (
	"cmp"
	"regexp"
	"strings"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/topk"
)

// terms: a bucket per value, the most frequent first.

type termsAgg[D any] struct {
	f           Field[D]
	size        int
	minDocCount int
	order       []orderBy
	subOrders   []*node[D]      // the sub-aggregations order names (bind)
	missing     []aval          // the value of documents without one, if given
	keep        func(aval) bool // include and exclude
}

// orderBy is one criterion of a terms order: by _key, by _count, or by
// a sub-aggregation (path): a metric's value or a single bucket's count.
type orderBy struct {
	key, desc bool
	path      string
	sub       int // its place in the values orderValues computes
}

// tbucket is a term and the documents that hold it.
type tbucket struct {
	v     aval
	count int32
	at    int32 // its place among the counted buckets
}

func (p *aggParser[D]) terms(n *node[D], body any) error {
	m, err := params(n.name, "terms", body, "field", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "order",
		"missing", "show_term_doc_count_error", "execution_hint", "collect_mode", "format", "value_type", "include", "exclude")
	if err != nil {
		return err
	}
	f, name, err := p.aggField(m)
	if err != nil {
		return err
	}
	a := termsAgg[D]{f: f}
	if a.size, err = sizeParam(m, n.name, 10); err != nil {
		return err
	}
	if a.minDocCount, err = intParam(m, "min_doc_count", 1); err != nil {
		return err
	}
	if a.minDocCount < 1 {
		// Elasticsearch's 0 would list the terms of keys the query did not
		// match; here an aggregation sees matched keys only.
		return illegalArg("[min_doc_count] must be 1 or more in [%s], not [%d]: only the terms of the keys the query matches are answered", n.name, a.minDocCount)
	}
	if a.order, err = termsOrder(m["order"]); err != nil {
		return err
	}
	if v, ok := m["missing"]; ok {
		mv, err := p.parseValue(f, name, v)
		if err != nil {
			return err
		}
		a.missing = []aval{mv}
	}
	if a.keep, err = includeExclude(f, m["include"], m["exclude"]); err != nil {
		return err
	}
	n.typ = "sterms"
	if f.Type != Keyword {
		n.typ = "lterms" // dates and booleans are longs in the index
	}
	n.impl, n.fanout, n.perDoc, n.evals = a, a.size, 1, 1
	return nil
}

// sizeParam reads the size of a terms or composite aggregation.
func sizeParam(m map[string]any, name string, def int) (int, error) {
	size, err := intParam(m, "size", def)
	switch {
	case err != nil:
		return 0, err
	case size <= 0:
		return 0, illegalArg("[size] must be greater than 0. Found [%d] in [%s]", size, name)
	case size > MaxAggSize:
		return 0, domain.Invalid("[size] of [%s] is %d, over the limit of %d", name, size, MaxAggSize)
	}
	return size, nil
}

// termsOrder reads order: {"_count": "desc"}, {"_key": "asc"}, or a list
// of them. The default is by count, most first; ties go by key.
func termsOrder(v any) ([]orderBy, error) {
	if v == nil {
		return []orderBy{{desc: true}}, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []orderBy
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, parsingErr("Order elements must be of type object")
		}
		for path, dir := range m {
			var o orderBy
			switch path {
			case "_key", "_term":
				o.key = true
			case "_count":
			default:
				o.path = path // a sub-aggregation, checked once they are parsed (bind)
			}
			switch dir {
			case "asc":
			case "desc":
				o.desc = true
			default:
				return nil, parsingErr("Unknown terms order direction [%v]", dir)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// includeExclude reads include and exclude: a list of values, or a regular
// expression the whole value must match (RE2: linear in the value).
func includeExclude[D any](f Field[D], inc, exc any) (func(aval) bool, error) {
	if inc == nil && exc == nil {
		return nil, nil
	}
	if f.Type != Keyword {
		return nil, illegalArg("[include] and [exclude] apply to keyword fields only")
	}
	in, err := valueSet("include", inc)
	if err != nil {
		return nil, err
	}
	out, err := valueSet("exclude", exc)
	if err != nil {
		return nil, err
	}
	return func(v aval) bool { return (in == nil || in(v.s)) && (out == nil || !out(v.s)) }, nil
}

func valueSet(key string, v any) (func(string) bool, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if len(x) > domain.MaxQueryValueBytes {
			return nil, domain.Invalid("[%s] is %d bytes, over the limit of %d", key, len(x), domain.MaxQueryValueBytes)
		}
		re, err := regexp.Compile(`^(?:` + x + `)$`)
		if err != nil {
			return nil, illegalArg("[%s] is not a valid regular expression: %s", key, x)
		}
		return re.MatchString, nil
	case []any:
		if len(x) > domain.MaxListEntries {
			return nil, domain.Invalid("[%s] lists %d values, over the limit of %d", key, len(x), domain.MaxListEntries)
		}
		set := make(map[string]bool, len(x))
		for _, e := range x {
			s, ok := KeywordOf(e)
			if !ok {
				return nil, illegalArg("[%s] values must be strings", key)
			}
			set[s] = true
		}
		return func(s string) bool { return set[s] }, nil
	}
	return nil, illegalArg("[%s] must be a regular expression or a list of values", key)
}

// bind resolves the sub-aggregations the order names: a cardinality or
// value_count (its value), a filter or missing (its doc_count).
func (a termsAgg[D]) bind(n *node[D]) (impl[D], error) {
	for i := range a.order {
		o := &a.order[i]
		if o.path == "" {
			continue
		}
		name, prop, _ := strings.Cut(strings.ReplaceAll(o.path, ">", "."), ".")
		var sub *node[D]
		for _, s := range n.subs {
			if s.name == name {
				sub = s
			}
		}
		if sub == nil {
			return nil, illegalArg("Invalid aggregation order path [%s]. The provided aggregation [%s] either does not exist, or is a pipeline aggregation and cannot be used to sort the buckets.", o.path, name)
		}
		metric := sub.typ == "cardinality" || sub.typ == "value_count"
		single := sub.typ == "filter" || sub.typ == "missing"
		if !(metric && (prop == "" || prop == "value") || single && (prop == "" || prop == "_count" || prop == "doc_count")) {
			return nil, illegalArg("Invalid aggregation order path [%s]. Buckets can only be sorted on a sub-aggregator path that is built out of zero or more single-bucket aggregations within the path and a final single-bucket or a metrics aggregation at the path end.", o.path)
		}
		o.sub = len(a.subOrders)
		a.subOrders = append(a.subOrders, sub)
	}
	return a, nil
}

// orderValues computes the sub-aggregations the order names over each
// counted bucket's documents (lists): one slice per sub-aggregation, by
// tbucket.at.
func (a termsAgg[D]) orderValues(buckets []tbucket, lists [][]D) ([][]int, error) {
	vals := make([][]int, len(a.subOrders))
	for j, sub := range a.subOrders {
		vals[j] = make([]int, len(buckets))
		for _, b := range buckets {
			r, err := sub.impl.eval(sub, lists[b.at], false)
			if err != nil {
				return nil, err
			}
			if v, ok := r["value"].(int); ok {
				vals[j][b.at] = v
			} else {
				vals[j][b.at], _ = r["doc_count"].(int)
			}
		}
	}
	return vals, nil
}

// compare orders buckets; subVals are orderValues' (nil when the order
// names no sub-aggregation).
func (a termsAgg[D]) compare(x, y tbucket, subVals [][]int) int {
	for _, o := range a.order {
		var c int
		switch {
		case o.key:
			c = compareVals(a.f.Type, x.v, y.v)
		case o.path != "":
			c = cmp.Compare(subVals[o.sub][x.at], subVals[o.sub][y.at])
		default:
			c = cmp.Compare(x.count, y.count)
		}
		if o.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return compareVals(a.f.Type, x.v, y.v)
}

func (a termsAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	r := newReader(a.f)
	c := newCounter(a.f.Type, a.keep)
	for _, d := range docs {
		vals := r.values(d)
		if len(vals) == 0 {
			vals = a.missing
		}
		for _, v := range vals {
			c.add(v)
		}
	}
	all := c.all
	total := 0
	kept := all[:0]
	for _, b := range all {
		if int(b.count) >= a.minDocCount {
			b.at = int32(len(kept))
			kept = append(kept, b)
			total += int(b.count)
		}
	}
	var lists [][]D
	var subVals [][]int
	if len(a.subOrders) > 0 {
		// Ordered by sub-aggregations: they are needed for every bucket.
		lists = a.bucketDocs(n, r, docs, kept)
		var err error
		if subVals, err = a.orderValues(kept, lists); err != nil {
			return nil, err
		}
	}
	top := topk.First(kept, a.size, func(x, y tbucket) int { return a.compare(x, y, subVals) })
	if lists == nil {
		lists = a.bucketDocs(n, r, docs, top)
	}
	buckets := make([]any, len(top))
	for i, b := range top {
		total -= int(b.count)
		body := map[string]any{"doc_count": int(b.count)}
		keyJSON(a.f.Type, b.v, body)
		if len(n.subs) > 0 {
			if err := runAll(n.subs, lists[b.at], typed, body); err != nil {
				return nil, err
			}
		}
		buckets[i] = body
	}
	return map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": total, "buckets": buckets}, nil
}

// bucketDocs lists the documents of each of buckets, by tbucket.at, for
// the sub-aggregations (none when there are none).
func (a termsAgg[D]) bucketDocs(n *node[D], r *reader[D], docs []D, buckets []tbucket) [][]D {
	if len(n.subs) == 0 {
		return nil
	}
	pos := make(map[aval]int, len(buckets))
	size := 0
	for _, b := range buckets {
		pos[b.v] = int(b.at)
		size = max(size, int(b.at)+1)
	}
	lists := make([][]D, size)
	for _, d := range docs {
		vals := r.values(d)
		if len(vals) == 0 {
			vals = a.missing
		}
		for _, v := range vals {
			if i, ok := pos[v]; ok {
				lists[i] = append(lists[i], d)
			}
		}
	}
	return lists
}

// counter counts documents by value: keywords by text, dates and booleans
// by number (a map of strings or of numbers hashes faster than one of
// both).
type counter struct {
	kw   bool
	s    map[string]int32
	n    map[int64]int32
	keep func(aval) bool
	all  []tbucket
}

func newCounter(t Type, keep func(aval) bool) *counter {
	c := &counter{kw: t == Keyword, keep: keep}
	if c.kw {
		c.s = map[string]int32{}
	} else {
		c.n = map[int64]int32{}
	}
	return c
}

func (c *counter) add(v aval) {
	var i int32
	var ok bool
	if c.kw {
		i, ok = c.s[v.s]
	} else {
		i, ok = c.n[v.n]
	}
	if !ok {
		if c.keep != nil && !c.keep(v) {
			return
		}
		i = int32(len(c.all))
		if c.kw {
			c.s[v.s] = i
		} else {
			c.n[v.n] = i
		}
		c.all = append(c.all, tbucket{v: v})
	}
	c.all[i].count++
}
