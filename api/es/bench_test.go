package es_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testhttp"
)

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}}
}

func benchGet(b *testing.B, c *http.Client, method, url, auth, body string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("%s %s: status %d", method, url, res.StatusCode)
	}
}

// startFilled starts keyplane with benchKeys keys (fillKeys; fewer with
// $KEYPLANE_BENCH_KEYS, a smaller run while profiling) in one project.
// Periodic snapshots (every 100,000 events) would land in the middle of
// the measurement; they are background work measured elsewhere.
func startFilled(b *testing.B) *app.App {
	a := startAppIn(b, b.TempDir(), func(c *app.Config) { c.SnapshotInterval = -1 })
	n := benchKeys
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	fillKeys(b, a.URL(), n)
	runtime.GC()
	return a
}

// benchLatency sends the request b.N times, one at a time, and reports
// the p50 and p99 latency.
func benchLatency(b *testing.B, c *http.Client, method, url, auth, body string) {
	d := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		benchGet(b, c, method, url, auth, body)
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkESAuthenticate compares GET /_security/_authenticate with an
// ApiKey (verify the key, build its principal, answer Elasticsearch's JSON)
// with a no-op net/http handler, alternating in rounds
// (testhttp.CompareWithNoop); the logged median of noop ns/op ÷
// authenticate ns/op is the figure of merit (goal ≥ 0.8).
func BenchmarkESAuthenticate(b *testing.B) {
	a := startApp(b)
	k := esDo(b, "POST", a.URL()+"/_security/api_key", basic(ownerAuth), `{"name": "bench", "role_descriptors": {}}`).Must(b, 200)
	testhttp.CompareWithNoop(b, "authenticate", a.URL()+"/_security/_authenticate", "ApiKey "+k.Str("encoded"))
}

// benchKeys is how many keys the query benchmark searches.
const benchKeys = 100_000

// BenchmarkESQuery measures the query API key API over 100,000 keys of one
// project, one query at a time over HTTP, and reports each query's p50 and
// p99 latency. The keys are created through the command path (log,
// projections), 64 at a time. Run it with -benchtime 200x: a fixed count,
// so that every query is measured as many times.
func BenchmarkESQuery(b *testing.B) {
	a := startFilled(b)
	c := benchClient()
	url, auth := a.URL()+"/_security/_query/api_key", basic(ownerAuth)
	for _, q := range esQueries {
		b.Run(q.name, func(b *testing.B) { benchLatency(b, c, "POST", url, auth, q.body) })
	}
}

// esQueries are BenchmarkESQuery's queries, which BenchmarkScale runs too.
var esQueries = []struct{ name, body string }{
	{"match_all", `{"size": 10}`},
	{"sort_creation_desc", `{"sort": [{"creation": "desc"}], "size": 10}`},
	{"wildcard_name", `{"query": {"wildcard": {"name": "key-4242*"}}, "sort": ["name"]}`},
	{"term_metadata", `{"query": {"term": {"metadata.team": "team-7"}}, "size": 100}`},
	{"bool_range_prefix", `{"query": {"bool": {"filter": [{"range": {"creation": {"gte": "now-1d"}}}, {"prefix": {"name": "key-99"}}],
		"must_not": {"term": {"invalidated": true}}}}, "sort": ["expiration", "name"], "size": 50}`},
	{"simple_query_string", `{"query": {"simple_query_string": {"query": "key-12345 | team-3", "fields": ["name", "metadata.team"]}}}`},
}

// fillKeys creates n keys in the default project, with metadata to query.
func fillKeys(b *testing.B, base string, n int) {
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	c := benchClient()
	for w := 0; w < 64; w++ {
		wg.Go(func() {
			for i := range next {
				body := fmt.Sprintf(`{"name": "key-%d", "expiration": "%dd", "metadata": {"team": "team-%d", "n": %d}}`, i, 1+i%365, i%10, i)
				benchGet(b, c, "POST", base+"/_security/api_key", basic(ownerAuth), body)
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	b.Logf("created %d keys in %s", n, time.Since(start).Round(time.Millisecond))
}
