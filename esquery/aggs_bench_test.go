package esquery

import (
	"encoding/json"
	"strconv"
	"testing"
)

// BenchmarkAggregations computes aggregations over 100,000 documents in
// memory (no HTTP, no query): ns/op is one whole aggregation, B/op what
// it allocates. "count" (value_count) is the baseline: one read per
// document; terms over ten values and over 100,000 distinct ones.
func BenchmarkAggregations(b *testing.B) {
	ds := make([]*doc, 100_000)
	for i := range ds {
		ds[i] = &doc{id: strconv.Itoa(i), name: "key-" + strconv.Itoa(i), user: "user-" + strconv.Itoa(i%10), created: int64(i)}
	}
	for _, tt := range []struct{ name, aggs string }{
		{"count", `{"v": {"value_count": {"field": "name"}}}`},
		{"terms_10_values", `{"t": {"terms": {"field": "username"}}}`},
		{"terms_100000_values", `{"t": {"terms": {"field": "name"}}}`},
		{"composite_page", `{"c": {"composite": {"size": 100, "sources": [{"u": {"terms": {"field": "username"}}}, {"n": {"terms": {"field": "name"}}}]}}}`},
		{"terms_with_filter_below", `{"t": {"terms": {"field": "username"}, "aggs": {"f": {"filter": {"prefix": {"name": "key-1"}}}}}}`},
	} {
		a, err := ParseAggs(json.RawMessage(tt.aggs), schema, now)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := a.Run(ds, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
