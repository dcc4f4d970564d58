package esquery

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Aggregations: the subset Elasticsearch's query API key API accepts
// (terms, composite, range, date_range, missing, cardinality, value_count,
// filter, filters), over the same fields as queries, computed over the
// documents a query matched (never others: a filter aggregation only
// narrows them). Answers have Elasticsearch's shapes.
//
// Limits of an aggregations request, checked when it is parsed, before any
// document is looked at. Each refusal names its limit.
const (
	// MaxAggregations bounds the aggregations of a request, every
	// sub-aggregation included.
	MaxAggregations = 64
	// MaxAggDepth bounds their nesting: an aggregation and at most three
	// levels of sub-aggregations below it.
	MaxAggDepth = 4
	// MaxAggSize bounds the size of a terms or composite aggregation.
	MaxAggSize = 10_000
	// MaxAggEntries bounds the ranges of a range or date_range, the
	// filters of filters, and the sources of a composite.
	MaxAggEntries = 64
	// MaxAggBuckets bounds the buckets an answer may hold: each
	// aggregation's most buckets times those of the aggregations it is
	// nested in, summed (Elasticsearch's search.max_buckets default).
	MaxAggBuckets = 65_536
	// MaxAggWorkPerDoc bounds what one document may cost: each
	// aggregation's evaluations of it (a filters aggregation runs each
	// filter) times the buckets of its parents the document may fall in at
	// once (all the ranges or filters of a parent), summed. It keeps the
	// whole evaluation linear in the matched documents.
	MaxAggWorkPerDoc = 1_024
)

// Aggs is a compiled aggregations request.
type Aggs[D any] struct {
	nodes []*node[D]
}

// Len is the number of top-level aggregations; zero when none were asked.
func (a Aggs[D]) Len() int { return len(a.nodes) }

// node is one named aggregation.
type node[D any] struct {
	name string
	// typ is the prefix typed_keys gives its name (sterms, composite...).
	typ  string
	meta any
	subs []*node[D]
	impl impl[D]
	// fanout is the most buckets one instance answers, perDoc the most of
	// them one document falls in at once, evals what one document costs
	// one instance: the static bounds (MaxAggBuckets, MaxAggWorkPerDoc).
	fanout, perDoc, evals int
}

// impl computes one aggregation's body over the documents of its bucket.
type impl[D any] interface {
	eval(n *node[D], docs []D, typed bool) (map[string]any, error)
}

func (n *node[D]) key(typed bool) string {
	if typed {
		return n.typ + "#" + n.name
	}
	return n.name
}

// Run computes the aggregations over docs (the matched documents), as the
// "aggregations" object of the answer. typed prefixes each name with its
// type (typed_keys).
func (a Aggs[D]) Run(docs []D, typed bool) (map[string]any, error) {
	out := make(map[string]any, len(a.nodes))
	return out, runAll(a.nodes, docs, typed, out)
}

// runAll adds the answers of nodes over docs to out.
func runAll[D any](nodes []*node[D], docs []D, typed bool, out map[string]any) error {
	for _, n := range nodes {
		r, err := n.impl.eval(n, docs, typed)
		if err != nil {
			return err
		}
		if n.meta != nil {
			r["meta"] = n.meta
		}
		out[n.key(typed)] = r
	}
	return nil
}

// bucketBody is a bucket's answer: its doc_count and its
// sub-aggregations over its documents.
func bucketBody[D any](n *node[D], docs []D, typed bool, b map[string]any) (map[string]any, error) {
	b["doc_count"] = len(docs)
	return b, runAll(n.subs, docs, typed, b)
}

// Error types of Elasticsearch's answers to bad aggregations (all 400).
func esErr(t string, format string, args ...any) error {
	e := domain.Invalid(format, args...)
	e.Type = t
	return e
}

func illegalArg(format string, args ...any) error {
	return esErr("illegal_argument_exception", format, args...)
}

func parsingErr(format string, args ...any) error {
	return esErr("parsing_exception", format, args...)
}

func unknownField(typ, name string) error {
	return esErr("x_content_parse_exception", "[%s] unknown field [%s]", typ, name)
}

// ParseAggs compiles the aggs (or aggregations) object of a request; an
// absent or null one asks for none. now anchors date math.
func ParseAggs[D any](raw json.RawMessage, s Schema[D], now time.Time) (Aggs[D], error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Aggs[D]{}, nil
	}
	v, err := decode(raw)
	if err != nil {
		return Aggs[D]{}, parsingErr("failed to parse aggregations: %s", domain.JSONReason(err))
	}
	p := &aggParser[D]{c: &compiler[D]{s: s, now: now}}
	nodes, err := p.level(v, 1, "")
	if err != nil {
		return Aggs[D]{}, err
	}
	if b := bucketBound(nodes, 1); b > MaxAggBuckets {
		return Aggs[D]{}, domain.Invalid("the aggregations may answer %d buckets or more (sizes, ranges and filters times those they are nested in), over the limit of %d", b, MaxAggBuckets)
	}
	if w := workBound(nodes, 1); w > MaxAggWorkPerDoc {
		return Aggs[D]{}, domain.Invalid("the aggregations may evaluate each key %d times or more (filters and ranges times those they are nested in), over the limit of %d", w, MaxAggWorkPerDoc)
	}
	return Aggs[D]{nodes: nodes}, nil
}

// bucketBound sums the buckets nodes may answer, each instance of them
// being repeated mult times; it stops counting past the limit (no
// overflow).
func bucketBound[D any](nodes []*node[D], mult int) int {
	sum := 0
	for _, n := range nodes {
		m := mult * n.fanout
		if m > MaxAggBuckets {
			return m
		}
		sum += m
		if n.fanout > 0 {
			sum += bucketBound(n.subs, m)
		}
		if sum > MaxAggBuckets {
			return sum
		}
	}
	return sum
}

// workBound sums what one document costs nodes, each instance of them
// being reached by the document mult times.
func workBound[D any](nodes []*node[D], mult int) int {
	sum := 0
	for _, n := range nodes {
		sum += mult * n.evals
		if m := mult * n.perDoc; m > 0 {
			if m > MaxAggWorkPerDoc {
				return m
			}
			sum += workBound(n.subs, m)
		}
		if sum > MaxAggWorkPerDoc {
			return sum
		}
	}
	return sum
}

type aggParser[D any] struct {
	// c compiles the queries of filter and filters aggregations; its
	// clause count (domain.MaxQueryClauses) spans all of them.
	c     *compiler[D]
	count int
}

// unsupportedAggs are the aggregation types Elasticsearch knows but its
// query API key API refuses ("Unsupported API Keys agg"); other unknown
// names are not aggregations at all.
var unsupportedAggs = map[string]bool{
	"avg": true, "max": true, "min": true, "sum": true, "stats": true, "extended_stats": true, "percentiles": true,
	"percentile_ranks": true, "median_absolute_deviation": true, "top_hits": true, "top_metrics": true, "geo_bounds": true,
	"geo_centroid": true, "geo_line": true, "scripted_metric": true, "weighted_avg": true, "string_stats": true, "boxplot": true,
	"t_test": true, "rate": true, "matrix_stats": true, "global": true, "histogram": true, "date_histogram": true,
	"auto_date_histogram": true, "variable_width_histogram": true, "ip_range": true, "ip_prefix": true, "geo_distance": true,
	"geohash_grid": true, "geotile_grid": true, "geohex_grid": true, "nested": true, "reverse_nested": true, "children": true,
	"parent": true, "sampler": true, "diversified_sampler": true, "random_sampler": true, "significant_terms": true,
	"significant_text": true, "rare_terms": true, "multi_terms": true, "adjacency_matrix": true, "time_series": true,
	"categorize_text": true, "frequent_item_sets": true,
}

// pipelineAggs are Elasticsearch's pipeline aggregations, all refused.
var pipelineAggs = map[string]bool{
	"avg_bucket": true, "bucket_script": true, "bucket_selector": true, "bucket_sort": true, "cumulative_sum": true,
	"cumulative_cardinality": true, "derivative": true, "extended_stats_bucket": true, "max_bucket": true, "min_bucket": true,
	"moving_fn": true, "moving_percentiles": true, "normalize": true, "percentiles_bucket": true, "serial_diff": true,
	"stats_bucket": true, "sum_bucket": true, "inference": true, "change_point": true, "bucket_count_ks_test": true,
	"bucket_correlation": true,
}

// level parses one object of named aggregations at nesting depth (1 for
// the request's own); parent is the type of the aggregation they are
// nested in.
func (p *aggParser[D]) level(v any, depth int, parent string) ([]*node[D], error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("Expected [START_OBJECT] under [aggregations], but got a [%s]", jsonKind(v))
	}
	if depth > MaxAggDepth && len(m) > 0 {
		return nil, domain.Invalid("aggregations are nested more than %d levels deep, over the limit", MaxAggDepth)
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names) // errors do not depend on map order
	// Elasticsearch refuses pipeline aggregations before looking at others.
	for _, name := range names {
		if body, ok := m[name].(map[string]any); ok {
			for typ := range body {
				if pipelineAggs[typ] {
					return nil, illegalArg("Unsupported aggregation of type [%s]", typ)
				}
			}
		}
	}
	out := make([]*node[D], 0, len(names))
	for _, name := range names {
		if p.count++; p.count > MaxAggregations {
			return nil, domain.Invalid("the request holds more aggregations than the limit of %d", MaxAggregations)
		}
		n, err := p.one(name, m[name], depth, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "START_ARRAY"
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER"
	case bool:
		return "VALUE_BOOLEAN"
	case nil:
		return "VALUE_NULL"
	}
	return "START_OBJECT"
}

// one parses the aggregation name: {type: body, "aggs": {...}, "meta": {...}}.
func (p *aggParser[D]) one(name string, v any, depth int, parent string) (*node[D], error) {
	if strings.ContainsAny(name, "[]>") {
		return nil, parsingErr("Invalid aggregation name [%s]. Aggregation names can contain any character except '[', ']', and '>'", name)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("Expected [START_OBJECT] under [%s], but got a [%s] in [%s]", name, jsonKind(v), name)
	}
	n := &node[D]{name: name}
	var typ string
	var body, subs any
	hasSubs := false
	for k, x := range m {
		switch k {
		case "aggs", "aggregations":
			if hasSubs {
				return nil, parsingErr("Found two sub aggregation definitions under [%s]", name)
			}
			subs, hasSubs = x, true
		case "meta":
			if _, ok := x.(map[string]any); !ok {
				return nil, parsingErr("Expected [START_OBJECT] under [meta], but got a [%s] in [%s]", jsonKind(x), name)
			}
			n.meta = x
		default:
			if typ != "" {
				a, b := min(typ, k), max(typ, k)
				return nil, parsingErr("Found two aggregation type definitions in [%s]: [%s] and [%s]", name, a, b)
			}
			typ, body = k, x
		}
	}
	if typ == "" {
		return nil, parsingErr("Missing definition for aggregation [%s]", name)
	}
	if typ == "composite" && parent != "" && parent != "filter" && parent != "filters" {
		return nil, illegalArg("[composite] aggregation cannot be used with a parent aggregation of type: [%s]", factoryName(parent))
	}
	if err := p.build(n, typ, body); err != nil {
		return nil, err
	}
	if hasSubs {
		if n.fanout == 0 {
			return nil, esErr("aggregation_initialization_exception", "Aggregator [%s] of type [%s] cannot accept sub-aggregations", name, typ)
		}
		var err error
		if n.subs, err = p.level(subs, depth+1, typ); err != nil {
			return nil, err
		}
	}
	if b, ok := n.impl.(binder[D]); ok {
		var err error
		if n.impl, err = b.bind(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// binder is an aggregation that refers to its sub-aggregations (a terms
// order), resolved once they are parsed.
type binder[D any] interface {
	bind(n *node[D]) (impl[D], error)
}

func factoryName(typ string) string {
	switch typ {
	case "terms":
		return "TermsAggregatorFactory"
	case "range":
		return "RangeAggregatorFactory"
	case "date_range":
		return "DateRangeAggregatorFactory"
	case "missing":
		return "MissingAggregatorFactory"
	case "composite":
		return "CompositeAggregationFactory"
	}
	return typ
}

// build reads the body of an aggregation of type typ into n.
func (p *aggParser[D]) build(n *node[D], typ string, body any) error {
	switch typ {
	case "terms":
		return p.terms(n, body)
	case "composite":
		return p.composite(n, body)
	case "range", "date_range":
		return p.ranges(n, typ, body)
	case "missing":
		return p.missing(n, body)
	case "cardinality", "value_count":
		return p.metric(n, typ, body)
	case "filter":
		return p.filter(n, body)
	case "filters":
		return p.filters(n, body)
	}
	if pipelineAggs[typ] {
		return illegalArg("Unsupported aggregation of type [%s]", typ)
	}
	if unsupportedAggs[typ] {
		return illegalArg("Unsupported API Keys agg [%s] of type [%s]", n.name, typ)
	}
	return parsingErr("Unknown aggregation type [%s]", typ)
}

// params reads the body of a values-source aggregation (one reading a
// field): an object of known options, no script.
func params(n string, typ string, body any, allowed ...string) (map[string]any, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, parsingErr("Expected [START_OBJECT] under [%s], but got a [%s] in [%s]", typ, jsonKind(body), n)
	}
	for k := range m {
		if k == "script" {
			return nil, illegalArg("Unsupported script value source for [%s] agg", n)
		}
		if !slices.Contains(allowed, k) {
			return nil, unknownField(typ, k)
		}
	}
	return m, nil
}

// aggField resolves the field an aggregation reads.
func (p *aggParser[D]) aggField(m map[string]any) (Field[D], string, error) {
	name, ok := m["field"].(string)
	if !ok {
		return Field[D]{}, "", illegalArg("Required one of fields [field, script], but none were specified.")
	}
	if strings.ContainsAny(name, "*?") {
		return Field[D]{}, "", illegalArg("Field name pattern [%s] is not allowed for querying or aggregation", name)
	}
	f, err := p.c.field(name)
	if err != nil {
		return f, name, illegalArg("%s", domain.ReasonOf(err))
	}
	return f, name, nil
}

// intParam reads an integer option, def when absent.
func intParam(m map[string]any, key string, def int) (int, error) {
	v, ok := m[key]
	if !ok {
		return def, nil
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, esErr("x_content_parse_exception", "[%s] must be an integer, not [%v]", key, v)
	}
	return i, nil
}

// aval is one value of a field: a keyword's text in s; a date's
// milliseconds, or a boolean's 0 or 1, in n.
type aval struct {
	s string
	n int64
}

func compareVals(t Type, a, b aval) int {
	if t == Keyword {
		return strings.Compare(a.s, b.s)
	}
	return cmp.Compare(a.n, b.n)
}

// reader reads the distinct values of one field of documents into a
// scratch slice, allocating nothing per document once it has grown.
type reader[D any] struct {
	f   Field[D]
	buf []aval
	kw  func(string) bool
}

func newReader[D any](f Field[D]) *reader[D] {
	r := &reader[D]{f: f}
	r.kw = func(x string) bool { r.buf = append(r.buf, aval{s: x}); return false }
	return r
}

// values returns d's distinct values, valid until the next call.
func (r *reader[D]) values(d D) []aval {
	r.buf = r.buf[:0]
	switch r.f.Type {
	case Date:
		if ms, ok := r.f.Millis(d); ok {
			r.buf = append(r.buf, aval{n: ms})
		}
	case Boolean:
		r.buf = append(r.buf, aval{n: b2i(r.f.Bool(d))})
	default:
		r.f.Any(d, r.kw)
		if len(r.buf) > 1 {
			slices.SortFunc(r.buf, func(a, b aval) int { return strings.Compare(a.s, b.s) })
			r.buf = slices.Compact(r.buf)
		}
	}
	return r.buf
}

// keyJSON is a value as a terms bucket's key: a keyword's text; a date's
// milliseconds with key_as_string; a boolean's 0 or 1 with key_as_string.
func keyJSON(t Type, v aval, b map[string]any) {
	switch t {
	case Date:
		b["key"] = v.n
		b["key_as_string"] = formatMillis(v.n)
	case Boolean:
		b["key"] = v.n
		b["key_as_string"] = strconv.FormatBool(v.n == 1)
	default:
		b["key"] = v.s
	}
}

// formatMillis is a date as Elasticsearch's strict_date_optional_time
// prints it.
func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseValue reads a value given for a field (missing, after).
func (p *aggParser[D]) parseValue(f Field[D], name string, v any) (aval, error) {
	switch f.Type {
	case Date:
		ms, err := ParseMillis(v, p.c.now)
		return aval{n: ms}, err
	case Boolean:
		b, err := parseBool(v, name)
		return aval{n: b2i(b)}, err
	}
	s, ok := KeywordOf(v)
	if !ok {
		return aval{}, illegalArg("field [%s] expects a string, number or boolean value", name)
	}
	return aval{s: s}, nil
}
