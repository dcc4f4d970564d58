package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
)

// BenchmarkCluster compares keyplane on the three-node cluster (two
// replicas, stream R3, every server fsyncing before it acknowledges) with
// one keyplane on its embedded node (fsync always too), measured in the
// same run, over HTTP the same way: create-key commands/s and
// authentications/s with 32 concurrent clients spread over the replicas,
// and how long a revocation on one replica takes to be refused by the
// other. scripts/bench cluster runs it (scripts/bench.d/cluster.sh).
func BenchmarkCluster(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nats-servers and keyplane replicas")
	}
	embedded := testproc.StartReplica(b, "keyplane-embedded", "--data-dir", b.TempDir())
	b.Run("embedded", func(b *testing.B) { benchReplicas(b, []string{embedded.URL()}) })
	embedded.Stop(30 * time.Second)

	s := startSetup(b, 2)
	urls := s.urls()
	b.Run("r3", func(b *testing.B) { benchReplicas(b, urls) })
	b.Run("r3/revoke", func(b *testing.B) {
		d := measurePropagation(b, urls[0], urls[1], fmt.Sprint("bench-revoke-", time.Now().UnixNano()), b.N)
		b.ReportMetric(float64(percentile(d, 50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(d, 99).Microseconds())/1000, "p99-ms")
	})
}

// benchClients is how many clients run at once in the throughput figures.
const benchClients = 32

// benchReplicas measures creates and authentications against urls, each
// client's requests going round-robin over them.
func benchReplicas(b *testing.B, urls []string) {
	run := fmt.Sprint(time.Now().UnixNano())
	k, ans, err := create(context.Background(), urls[0], "bench-auth-"+run)
	if err != nil || ans.status != http.StatusCreated {
		b.Fatalf("create: %v %s", err, ans.raw)
	}
	for _, url := range urls {
		waitStatus(b, url, "/api/v1/whoami", "ApiKey "+k.encoded, http.StatusOK, 10*time.Second)
	}
	var seq atomic.Int64
	parallel := func(unit string, op func(url string, i int64) error) func(*testing.B) {
		return func(b *testing.B) {
			b.SetParallelism(benchClients / 2) // GOMAXPROCS is 2 on the benchmark machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					if err := op(urls[int(i)%len(urls)], i); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
		}
	}
	b.Run("create", parallel("creates/s", func(url string, i int64) error {
		a, err := call(context.Background(), "POST", url+keysPath, ownerAuth, map[string]any{"name": fmt.Sprintf("bench-%s-%d", run, i)})
		if err == nil && a.status != http.StatusCreated {
			err = fmt.Errorf("create answered %d: %s", a.status, a.raw)
		}
		return err
	}))
	b.Run("auth", parallel("auths/s", func(url string, _ int64) error {
		a, err := call(context.Background(), "GET", url+"/api/v1/whoami", "ApiKey "+k.encoded, nil)
		if err == nil && a.status != http.StatusOK {
			err = fmt.Errorf("whoami answered %d: %s", a.status, a.raw)
		}
		return err
	}))
}
