package testhttp

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
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
	run := func(url, auth string, nsop *float64) func(*testing.B) {
		return func(b *testing.B) {
			b.SetParallelism(25)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(c, url, auth); err != nil {
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
	var ratios []float64
	for range rounds {
		var base, measured float64
		b.Run("noop", run("http://"+ln.Addr().String()+"/", "", &base))
		b.Run(name, run(url, auth, &measured))
		if base > 0 && measured > 0 {
			ratios = append(ratios, base/measured)
		}
	}
	sort.Float64s(ratios)
	if len(ratios) > 0 {
		b.Logf("noop/%s ns/op ratio: median %.2f over %d alternating rounds %.2f", name, ratios[len(ratios)/2], len(ratios), ratios)
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
