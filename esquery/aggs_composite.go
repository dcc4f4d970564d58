package esquery

import (
	"encoding/binary"
	"slices"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/topk"
)

// composite: buckets of every combination of its sources' values, in the
// order of those values, a page of size at a time; after_key is where the
// next page starts ("after").

type compositeSource[D any] struct {
	name          string
	f             Field[D]
	desc          bool
	missingBucket bool
	missingFirst  bool
	// bucket, for histogram and date_histogram sources, turns a value
	// into its bucket's key (in n: a date's milliseconds, a histogram's
	// sortableFloat); nil for terms, whose keys are the values.
	bucket func(aval) aval
	// float: the keys are histogram keys (doubles); formatted: date
	// keys are answered as text.
	float, formatted bool
}

// keyType is how the source's keys compare: a keyword's as text, the
// others as numbers.
func (src *compositeSource[D]) keyType() Type {
	if src.bucket != nil {
		return Date
	}
	return src.f.Type
}

// cpart is one source's value in a composite key; null when the document
// has none (missing_bucket).
type cpart struct {
	v    aval
	null bool
}

type cbucket struct {
	key   []cpart
	enc   string // key, encoded
	count int
}

type compositeAgg[D any] struct {
	sources []compositeSource[D]
	size    int
	after   []cpart // nil: the first page
}

func (p *aggParser[D]) composite(n *node[D], body any) error {
	m, err := params(n.name, "composite", body, "sources", "size", "after")
	if err != nil {
		return err
	}
	list, ok := m["sources"].([]any)
	if !ok || len(list) == 0 {
		return illegalArg("Composite [sources] cannot be null or empty")
	}
	if len(list) > MaxAggEntries {
		return domain.Invalid("[sources] of [%s] lists %d sources, over the limit of %d", n.name, len(list), MaxAggEntries)
	}
	a := compositeAgg[D]{}
	seen := map[string]bool{}
	for _, item := range list {
		src, err := p.source(n.name, item)
		if err != nil {
			return err
		}
		if seen[src.name] {
			return illegalArg("Composite source names must be unique, found duplicates: [%s]", src.name)
		}
		seen[src.name] = true
		a.sources = append(a.sources, src)
	}
	if a.size, err = sizeParam(m, n.name, 10); err != nil {
		return err
	}
	if v, ok := m["after"]; ok && v != nil {
		if a.after, err = p.afterKey(a.sources, v); err != nil {
			return err
		}
	}
	n.typ, n.impl, n.fanout, n.perDoc, n.evals = "composite", a, a.size, 1, len(a.sources)
	return nil
}

// source reads one source: {name: {"terms": {field, order, missing_bucket, missing_order}}}.
func (p *aggParser[D]) source(agg string, item any) (compositeSource[D], error) {
	var src compositeSource[D]
	m, ok := item.(map[string]any)
	if !ok || len(m) != 1 {
		return src, parsingErr("a composite source is an object with one named source")
	}
	for name, v := range m {
		src.name = name
		def, ok := v.(map[string]any)
		if !ok || len(def) != 1 {
			return src, parsingErr("composite source [%s] must be an object with one source type", name)
		}
		for typ, body := range def {
			if tm, ok := body.(map[string]any); ok && tm["script"] != nil {
				return src, illegalArg("Unsupported script value source for [%s] of composite agg [%s]", name, agg)
			}
			common := []string{"field", "order", "missing_bucket", "missing_order", "value_type", "format"}
			var extra []string
			switch typ {
			case "terms":
			case "histogram":
				extra = []string{"interval", "offset"}
			case "date_histogram":
				extra = []string{"calendar_interval", "fixed_interval", "interval", "offset", "time_zone"}
			default:
				return src, illegalArg("Unsupported value source type for [%s] of composite agg [%s].Only [terms], [histogram] and [date_histogram] value sources are allowed.", name, agg)
			}
			tm, err := params(name, typ, body, append(common, extra...)...)
			if err != nil {
				return src, err
			}
			if err := p.sourceOptions(&src, tm); err != nil {
				return src, err
			}
			if err := p.bucketing(&src, typ, tm); err != nil {
				return src, err
			}
		}
	}
	return src, nil
}

func (p *aggParser[D]) sourceOptions(src *compositeSource[D], m map[string]any) error {
	var err error
	if src.f, _, err = p.aggField(m); err != nil {
		return err
	}
	switch m["order"] {
	case nil, "asc":
	case "desc":
		src.desc = true
	default:
		return illegalArg("Unknown order [%v] of composite source [%s]: asc or desc", m["order"], src.name)
	}
	if v, ok := m["missing_bucket"]; ok {
		if src.missingBucket, ok = v.(bool); !ok {
			return parsingErr("[missing_bucket] of [%s] must be true or false", src.name)
		}
	}
	switch m["missing_order"] {
	case nil, "default":
		src.missingFirst = !src.desc
	case "first":
		src.missingFirst = true
	case "last":
	default:
		return illegalArg("Unknown missing_order [%v] of composite source [%s]: first, last or default", m["missing_order"], src.name)
	}
	if m["missing_order"] != nil && m["missing_order"] != "default" && !src.missingBucket {
		return illegalArg("missingOrder can only be set if missingBucket is true")
	}
	return nil
}

// afterKey reads after: one value per source, by name, in the forms
// after_key shows them.
func (p *aggParser[D]) afterKey(sources []compositeSource[D], v any) ([]cpart, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("[after] must be an object of source values")
	}
	if len(m) != len(sources) {
		return nil, illegalArg("[after] has %d value(s) but [sources] has %d", len(m), len(sources))
	}
	key := make([]cpart, len(sources))
	for i, src := range sources {
		x, ok := m[src.name]
		if !ok {
			return nil, illegalArg("Missing value for [after.%s]", src.name)
		}
		if x == nil {
			if !src.missingBucket {
				return nil, illegalArg("Cannot set missing value for [after.%s] if missing_bucket is false", src.name)
			}
			key[i] = cpart{null: true}
			continue
		}
		av, err := p.afterValue(&src, x)
		if err != nil {
			return nil, err
		}
		key[i] = cpart{v: av}
	}
	return key, nil
}

func (a compositeAgg[D]) compare(x, y []cpart) int {
	for i, src := range a.sources {
		p, q := x[i], y[i]
		if p.null || q.null {
			if p.null == q.null {
				continue
			}
			if p.null == src.missingFirst {
				return -1
			}
			return 1
		}
		c := compareVals(src.keyType(), p.v, q.v)
		if src.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// combos calls visit with each key of d: every combination of its
// sources' values (null for a source without one, with missing_bucket;
// none when a source without missing_bucket has none). The combinations
// of one document are bounded by MaxAggWorkPerDoc.
func (a compositeAgg[D]) combos(sc *comboScratch[D], d D, visit func([]cpart)) error {
	readers, vals, idx, key := sc.readers, sc.vals, sc.idx, sc.key
	total := 1
	for i, r := range readers {
		vals[i] = r.values(d)
		if b := a.sources[i].bucket; b != nil && len(vals[i]) > 0 {
			vals[i] = bucketed(sc.keys[i][:0], vals[i], b)
			sc.keys[i] = vals[i]
		}
		switch n := len(vals[i]); {
		case n == 0 && !a.sources[i].missingBucket:
			return nil
		case n > 1:
			if total *= n; total > MaxAggWorkPerDoc {
				return domain.Invalid("a key's values of the composite sources combine to more than %d keys, over the limit", MaxAggWorkPerDoc)
			}
		}
	}
	clear(idx)
	for {
		for i := range readers {
			if len(vals[i]) == 0 {
				key[i] = cpart{null: true}
			} else {
				key[i] = cpart{v: vals[i][idx[i]]}
			}
		}
		visit(key)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			if idx[i]++; idx[i] < len(vals[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// comboScratch is the storage combos reuses from one document to the next.
type comboScratch[D any] struct {
	readers []*reader[D]
	vals    [][]aval
	idx     []int
	key     []cpart
	keys    [][]aval // the bucketed values of histogram sources
	err     error
}

func (a compositeAgg[D]) scratch() *comboScratch[D] {
	n := len(a.sources)
	sc := &comboScratch[D]{readers: make([]*reader[D], n), vals: make([][]aval, n), idx: make([]int, n), key: make([]cpart, n),
		keys: make([][]aval, n)}
	for i, src := range a.sources {
		sc.readers[i] = newReader(src.f)
	}
	return sc
}

// encode makes a composite key a map key.
func encode(buf []byte, key []cpart) []byte {
	buf = buf[:0]
	for _, p := range key {
		switch {
		case p.null:
			buf = append(buf, 0)
		default:
			buf = append(buf, 1)
			buf = binary.AppendVarint(buf, p.v.n)
			buf = binary.AppendUvarint(buf, uint64(len(p.v.s)))
			buf = append(buf, p.v.s...)
		}
	}
	return buf
}

func (a compositeAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	sc := a.scratch()
	top := a.page(sc, docs)
	if top == nil {
		return nil, sc.err
	}
	lists, err := a.bucketDocs(n, sc, docs, top)
	if err != nil {
		return nil, err
	}
	buckets := make([]any, len(top))
	for i, b := range top {
		body := map[string]any{"key": a.keyJSON(b.key), "doc_count": b.count}
		if lists != nil {
			if err := runAll(n.subs, lists[i], typed, body); err != nil {
				return nil, err
			}
		}
		buckets[i] = body
	}
	out := map[string]any{"buckets": buckets}
	if len(top) > 0 {
		out["after_key"] = a.keyJSON(top[len(top)-1].key)
	}
	return out, nil
}

// page finds the size first keys after after, and their counts. Only
// those are kept, in a heap whose root is the worst kept: a key worse
// than it, once the heap is full, can never be among them (the root only
// gets better), and a key that will be among them is admitted the first
// time it is seen, so its count is whole. nil on error (sc.err).
func (a compositeAgg[D]) page(sc *comboScratch[D], docs []D) []*cbucket {
	kept := map[string]*cbucket{}
	h := make([]*cbucket, 0, min(a.size, 1024))
	worse := func(x, y *cbucket) int { return a.compare(x.key, y.key) }
	var buf []byte
	visit := func(k []cpart) {
		if a.after != nil && a.compare(k, a.after) <= 0 {
			return
		}
		if len(h) == a.size && a.compare(k, h[0].key) > 0 {
			return
		}
		buf = encode(buf, k)
		if b, ok := kept[string(buf)]; ok {
			b.count++
			return
		}
		b := &cbucket{key: slices.Clone(k), enc: string(buf), count: 1}
		kept[b.enc] = b
		if len(h) < a.size {
			if h = append(h, b); len(h) == a.size {
				for i := a.size/2 - 1; i >= 0; i-- {
					topk.SiftDown(h, i, worse)
				}
			}
			return
		}
		delete(kept, h[0].enc)
		h[0] = b
		topk.SiftDown(h, 0, worse)
	}
	for _, d := range docs {
		if sc.err = a.combos(sc, d, visit); sc.err != nil {
			return nil
		}
	}
	slices.SortFunc(h, worse)
	return h
}

// bucketDocs lists the documents of each answered bucket, for the
// sub-aggregations (nil when there are none).
func (a compositeAgg[D]) bucketDocs(n *node[D], sc *comboScratch[D], docs []D, top []*cbucket) ([][]D, error) {
	if len(n.subs) == 0 {
		return nil, nil
	}
	pos := make(map[string]int, len(top))
	for i, b := range top {
		pos[b.enc] = i
	}
	var buf []byte
	lists := make([][]D, len(top))
	var cur D
	add := func(k []cpart) {
		buf = encode(buf, k)
		if i, ok := pos[string(buf)]; ok {
			lists[i] = append(lists[i], cur)
		}
	}
	for _, d := range docs {
		cur = d
		if err := a.combos(sc, d, add); err != nil {
			return nil, err
		}
	}
	return lists, nil
}

// keyJSON is a composite key as Elasticsearch shows it: by source name,
// keywords as text, dates as epoch milliseconds, booleans as booleans,
// null for a missing value.
func (a compositeAgg[D]) keyJSON(key []cpart) map[string]any {
	out := make(map[string]any, len(key))
	for i, src := range a.sources {
		p := key[i]
		switch {
		case p.null:
			out[src.name] = nil
		case src.float:
			out[src.name] = unsortableFloat(p.v.n)
		case src.formatted:
			out[src.name] = formatMillis(p.v.n)
		case src.bucket != nil:
			out[src.name] = p.v.n
		case src.f.Type == Keyword:
			out[src.name] = p.v.s
		case src.f.Type == Boolean:
			out[src.name] = p.v.n == 1
		default:
			out[src.name] = p.v.n
		}
	}
	return out
}
