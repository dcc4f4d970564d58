package es_test

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
)

// BenchmarkESQueryAggs measures aggregations of the query API key API over
// 100,000 keys of one project (fillKeys: ten teams in metadata, distinct
// names), one request at a time over HTTP, and reports each request's p50
// and p99 latency. "size0" is the baseline measured in the same run: the
// same scan and count without aggregations. Run it with -benchtime 100x.
func BenchmarkESQueryAggs(b *testing.B) {
	a := startAppIn(b, b.TempDir(), func(c *app.Config) { c.SnapshotInterval = -1 })
	n := benchKeys
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	fillKeys(b, a.URL(), n)
	runtime.GC()
	c := benchClient()
	url, auth := a.URL()+"/_security/_query/api_key", basic(ownerAuth)
	for _, q := range []struct{ name, body string }{
		{"size0", `{"size": 0}`},
		{"terms_team", `{"size": 0, "aggs": {"t": {"terms": {"field": "metadata.team"}}}}`},
		{"terms_name", `{"size": 0, "aggs": {"t": {"terms": {"field": "name"}}}}`},
		{"kibana_page", `{"size": 0, "aggs": {"usernames": {"terms": {"field": "username", "size": 10000}},
			"types": {"terms": {"field": "type"}}, "invalidated": {"filter": {"term": {"invalidated": true}}},
			"expired": {"filter": {"range": {"expiration": {"lte": "now"}}}}, "managed": {"filter": {"term": {"metadata.managed": true}}}}}`},
		{"composite_team_page", `{"size": 0, "aggs": {"c": {"composite": {"size": 100, "sources": [{"t": {"terms": {"field": "metadata.team"}}}, {"n": {"terms": {"field": "name"}}}]}}}}`},
	} {
		b.Run(q.name, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				benchGet(b, c, "POST", url, auth, q.body)
				d = append(d, time.Since(start))
			}
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
		})
	}
}
