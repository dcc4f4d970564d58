package es_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/eventlog"
)

// BenchmarkScale is issue 27's measure of one project holding many keys
// (KEYPLANE_SCALE_KEYS, default 100,000; 1,000,000 for the full figure):
// half created through the Elasticsearch API (which records the creator's
// role descriptors as each key's limited_by), half through the console
// API, each with a name and two metadata fields, all through the real
// command path and fold. It reports the live heap per key of the whole
// process after a GC (heap-B/key, and the same for each API's half), its
// resident memory per key, and the p50/p99 of BenchmarkESQuery's queries
// and of the console list sorted by each field with a name prefix and a
// status filter. Run it with -benchtime 100x.
func BenchmarkScale(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_SCALE_KEYS")); err == nil && v > 0 {
		n = v
	}
	a := startAppIn(b, b.TempDir(), func(c *app.Config) { c.SnapshotInterval = -1 })
	base := a.URL()
	heap0, rss0 := liveHeap(), residentBytes()
	esBody := func(i int) string {
		return fmt.Sprintf(`{"name": "key-%d", "expiration": "%dd", "metadata": {"team": "team-%d", "n": %d}}`, i, 1+i%365, i%10, i)
	}
	fillWith(b, base+"/_security/api_key", 0, n/2, esBody)
	heap1 := liveHeap()
	fillWith(b, base+"/api/v1/orgs/default/projects/default/api-keys", n/2, n, esBody)
	heap2, rss2 := liveHeap(), residentBytes()
	// nats-server keeps the blocks it just wrote in memory until they go
	// unused for 10 s (its file store's cache expiry), and every message
	// id for the stream's duplicate window: costs of the writes just made,
	// not of the keys held. heap-settled is the heap once both have passed,
	// what a server holding these keys keeps.
	time.Sleep(eventlog.DuplicateWindow + natsCacheExpiry + time.Second)
	settled, rssSettled := liveHeap(), residentBytes()
	b.Run("memory", func(b *testing.B) { // the parent's metrics are not printed
		b.ReportMetric(float64(heap2-heap0)/float64(n), "heap-B/key")
		b.ReportMetric(float64(settled-heap0)/float64(n), "heap-settled-B/key")
		b.ReportMetric(float64(rssSettled-rss0)/float64(n), "rss-settled-B/key")
		b.ReportMetric(float64(heap1-heap0)/float64(n/2), "heap-es-B/key")
		b.ReportMetric(float64(heap2-heap1)/float64(n-n/2), "heap-console-B/key")
		b.ReportMetric(float64(rss2-rss0)/float64(n), "rss-B/key")
	})
	if path := os.Getenv("KEYPLANE_SCALE_HEAPPROFILE"); path != "" {
		writeHeapProfile(b, path) // what the live heap per key is made of
	}
	b.Logf("%d keys: live heap %d MB (%d MB before), resident %d MB", n, heap2>>20, heap0>>20, rss2>>20)

	c := benchClient()
	esURL, auth := base+"/_security/_query/api_key", basic(ownerAuth)
	type query struct{ name, method, url, body string }
	var qs []query
	for _, q := range append(esQueries, []struct{ name, body string }{
		{"range_expiration", `{"query": {"range": {"expiration": {"gte": "now+100d", "lt": "now+101d"}}}, "sort": ["expiration"], "size": 50}`},
		{"sort_expiration_desc", `{"sort": [{"expiration": "desc"}], "size": 50}`},
		{"sort_name_search_after", `{"sort": ["name"], "size": 50, "search_after": ["key-5"]}`},
		{"sort_username", `{"sort": ["username"], "size": 10}`},
		{"invalidated", `{"query": {"term": {"invalidated": true}}, "size": 10}`},
		{"range_creation_all", `{"query": {"range": {"creation": {"gte": "now-1d"}}}, "sort": [{"creation": "desc"}], "size": 10}`},
		{"not_invalidated_newest", `{"query": {"bool": {"must_not": {"term": {"invalidated": true}}}}, "sort": [{"creation": "desc"}], "size": 20}`},
		{"should_names", `{"query": {"bool": {"should": [{"term": {"name": "key-1"}}, {"prefix": {"name": "key-4242"}}]}}}`},
		{"prefix_metadata", `{"query": {"prefix": {"metadata.team": "team-1"}}, "size": 10}`},
		{"term_metadata_unique", `{"query": {"term": {"metadata.n": "4242"}}}`},
	}...) {
		qs = append(qs, query{"es_" + q.name, "POST", esURL, q.body})
	}
	list := base + "/api/v1/orgs/default/projects/default/api-keys?status=active&size=50&name=key-12*&sort="
	for _, s := range []string{"name", "-created", "expiration", "owner"} {
		qs = append(qs, query{"list_" + strings.TrimPrefix(s, "-"), "GET", list + s, ""})
	}
	// The console's first page of a project (newest first), and by name.
	page := base + "/api/v1/orgs/default/projects/default/api-keys?size=50"
	qs = append(qs, query{"list_page_newest", "GET", page, ""}, query{"list_page_by_name", "GET", page + "&sort=name", ""})
	// By the fields whose order changes (expiration, last use) and owner:
	// the first page, and the page after it (its cursor).
	for _, s := range []string{"expiration", "-expiration", "owner", "last_used", "-last_used"} {
		first := page + "&sort=" + s
		next := esDo(b, "GET", first, auth, "").Must(b, 200).Str("next_cursor")
		qs = append(qs, query{"list_page_by_" + s, "GET", first, ""}, query{"list_cursor_by_" + s, "GET", first + "&cursor=" + url.QueryEscape(next), ""})
	}
	for _, q := range qs {
		b.Run(q.name, func(b *testing.B) { benchLatency(b, c, q.method, q.url, auth, q.body) })
	}
}

// natsCacheExpiry is how long nats-server's file store keeps a message
// block's contents in memory after its last use (defaultCacheBufferExpiration).
const natsCacheExpiry = 10 * time.Second

// fillWith creates keys from to to (excluded) at url, 64 at a time.
func fillWith(b *testing.B, url string, from, to int, body func(int) string) {
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	c := benchClient()
	for w := 0; w < 64; w++ {
		wg.Go(func() {
			for i := range next {
				if err := createOne(c, url, body(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for i := from; i < to && !b.Failed(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	b.Logf("created %d keys at %s in %s", to-from, url, time.Since(start).Round(time.Millisecond))
}

// createOne posts one key, again after a pause while the server sheds
// load (503, 429): seeding measures nothing, it only has to finish.
func createOne(c *http.Client, url, body string) error {
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Authorization", basic(ownerAuth))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode/100 == 2:
			return nil
		case res.StatusCode != http.StatusServiceUnavailable && res.StatusCode != http.StatusTooManyRequests:
			return fmt.Errorf("POST %s: status %d", url, res.StatusCode)
		}
		time.Sleep(pause)
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// residentBytes is the process's resident set (Linux), 0 elsewhere.
func residentBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
