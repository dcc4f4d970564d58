package testhttp

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultRounds is how many times CompareWithNoop alternates unless
// $KEYPLANE_BENCH_ROUNDS says otherwise.
const DefaultRounds = 5

// CompareWithNoop measures GET url with the Authorization header auth
// against a no-op net/http handler (same server timeouts as keyplane's, same
// client, keep-alive, 50 concurrent clients: 25 per core). The two run as
// sub-benchmarks "noop" and name, alternating for a number of rounds so
// that a noisy neighbour hits both alike: run one after the other, the two
// series drift apart on a shared machine by more than the difference being
// measured. It logs the median over the rounds of noop ns/op ÷ name ns/op,
// the figure of merit (1 would be free).
func CompareWithNoop(b *testing.B, name, url, auth string) {
	CompareEach(b, Variant{Name: name, URL: url, Auth: []string{auth}})
}

// Variant is one of the servers CompareEach measures against the no-op
// handler.
type Variant struct {
	Name, URL string
	// Auth are the Authorization headers its requests take in turn (one
	// key, or many keys as many clients would use them).
	Auth []string
	// Before, when set, runs before each of its rounds: how two variants
	// measure one server with a setting on and off.
	Before func()
}

// CompareEach is CompareWithNoop for several variants: the no-op handler
// and each variant in turn, for a number of rounds, so that noise hits all
// alike. It logs, for each variant, the median over the rounds of noop
// ns/op ÷ its ns/op, and for each variant after the first, the median of
// its ns/op ÷ the first's (1: the same cost; below 1, the first costs
// more), each as "a/b ns/op ratio".
func CompareEach(b *testing.B, vs ...Variant) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	noop := &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		})}
	go noop.Serve(ln)
	defer noop.Close()
	c := &http.Client{Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}}
	run := func(url string, auth []string, nsop *float64) func(*testing.B) {
		return func(b *testing.B) {
			var next atomic.Uint64
			b.SetParallelism(25)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a := ""
					if len(auth) > 0 {
						a = auth[next.Add(1)%uint64(len(auth))]
					}
					if err := get(c, url, a); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
				}
			})
			*nsop = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		}
	}
	rounds := DefaultRounds
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	vsNoop := make([][]float64, len(vs))
	vsFirst := make([][]float64, len(vs))
	for range rounds {
		var base float64
		b.Run("noop", run("http://"+ln.Addr().String()+"/", nil, &base))
		measured := make([]float64, len(vs))
		for i, v := range vs {
			if v.Before != nil {
				v.Before()
			}
			b.Run(v.Name, run(v.URL, v.Auth, &measured[i]))
			if base > 0 && measured[i] > 0 {
				vsNoop[i] = append(vsNoop[i], base/measured[i])
			}
			if i > 0 && measured[0] > 0 && measured[i] > 0 {
				vsFirst[i] = append(vsFirst[i], measured[i]/measured[0])
			}
		}
	}
	for i, v := range vs {
		if r := vsNoop[i]; len(r) > 0 {
			sort.Float64s(r)
			b.Logf("noop/%s ns/op ratio: median %.2f over %d alternating rounds %.2f", v.Name, r[len(r)/2], len(r), r)
		}
		if r := vsFirst[i]; len(r) > 0 {
			sort.Float64s(r)
			b.Logf("%s/%s ns/op ratio: median %.2f over %d alternating rounds %.2f", v.Name, vs[0].Name, r[len(r)/2], len(r), r)
		}
	}
}

// get sends one GET and reads the whole answer, which must be 200.
func get(c *http.Client, url, auth string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return nil
}
