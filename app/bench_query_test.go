package app

import (
	"context"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkCreateUnderHeavyQuery measures creates at 50 clients alone and
// while another client runs heavy wildcard queries (over every key's long
// metadata) against a project of KEYPLANE_BENCH_KEYS keys (default
// 100,000), alternating the two in rounds (KEYPLANE_BENCH_ROUNDS, default
// 3). The figure of merit is the median ratio of the creates' p99 with the
// query to without it: a query that held the key index's lock while it
// matched would stall every create behind it.
func BenchmarkCreateUnderHeavyQuery(b *testing.B) {
	nkeys := envInt("KEYPLANE_BENCH_KEYS", 100_000)
	rounds := envInt("KEYPLANE_BENCH_ROUNDS", 3)
	a := startApp(b, b.TempDir(), nil)
	p, err := a.Logins.Authenticate("alice", "alice-password")
	if err != nil {
		b.Fatal(err)
	}
	org, _ := a.Dir.Org("default")
	pr, _ := org.ProjectNamed("default")
	note := strings.Repeat("ab", 500) // 1 KB of metadata per key
	seed := func(i int) domain.CreateKey {
		return domain.CreateKey{Tenant: org.ID, Scope: domain.ScopeProject, Project: pr.ID, Name: "seed-" + strconv.Itoa(i),
			Metadata: map[string]any{"note": note + strconv.Itoa(i)}}
	}
	runClients(b, 50, nkeys, func(i int) error {
		_, err := a.Commands.CreateKey(context.Background(), p, domain.Meta{Actor: p.Actor()}, seed(i), "")
		return err
	})
	query := `{"query":{"wildcard":{"metadata.note":{"value":"*a*b*a*b*a*b*a*b*a*b*zz*"}}},"size":10}`
	heavy := func(ctx context.Context, done *atomic.Int64) {
		c := &http.Client{}
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "POST", a.URL()+"/_security/_query/api_key", strings.NewReader(query))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth("alice", "alice-password")
			if res, err := c.Do(req); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					done.Add(1)
				}
			}
		}
	}
	measure := func(withQuery bool) time.Duration {
		var queries atomic.Int64
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		if withQuery {
			wg.Add(1)
			go func() { defer wg.Done(); heavy(ctx, &queries) }()
		}
		var lat latencies
		runClients(b, 50, 2000, func(i int) error {
			c := domain.CreateKey{Tenant: org.ID, Scope: domain.ScopeProject, Project: pr.ID, Name: "bench"}
			t0 := time.Now()
			_, err := a.Commands.CreateKey(context.Background(), p, domain.Meta{Actor: p.Actor()}, c, "")
			lat.add(time.Since(t0))
			return err
		})
		stop()
		wg.Wait()
		if withQuery && queries.Load() == 0 {
			b.Fatal("no heavy query finished during the creates: the measure is not under load")
		}
		sort.Slice(lat.d, func(i, j int) bool { return lat.d[i] < lat.d[j] })
		return lat.d[len(lat.d)*99/100]
	}
	b.ResetTimer()
	var alone, loaded, ratios []float64
	for range rounds {
		x, y := measure(false), measure(true)
		alone, loaded = append(alone, float64(x.Microseconds())), append(loaded, float64(y.Microseconds()))
		ratios = append(ratios, float64(y)/float64(x))
		b.Logf("round: create p99 alone %v, with a heavy query %v (%.2fx)", x, y, float64(y)/float64(x))
	}
	b.ReportMetric(median(alone), "p99-alone-µs")
	b.ReportMetric(median(loaded), "p99-with-query-µs")
	b.ReportMetric(median(ratios), "p99-ratio")
	b.Logf("%d keys; create p99 with/without a heavy query, median of %d rounds: %.2f", nkeys, rounds, median(ratios))
}

// runClients runs n calls of op over clients goroutines; the first error
// fails the benchmark.
func runClients(b *testing.B, clients, n int, op func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n && first.Load() == nil; i = int(next.Add(1)) {
				if err := op(i); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		b.Fatal(*err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
