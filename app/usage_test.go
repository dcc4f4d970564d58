package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testwait"
)

// usageReplicas are two keyplanes on one log (the first's embedded NATS
// server), flushing usage only when a test says (FlushUsage).
func usageReplicas(t *testing.T, now func() time.Time) (a, b *App) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	start := func(cfg Config) *App {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cfg.Addr, cfg.BootstrapOwner, cfg.NeverAllowed, cfg.Now, cfg.UsageFlush = "127.0.0.1:0", ownerAuth, true, now, time.Hour
		cfg.Logger, cfg.Out = slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard
		x, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(x.Close)
		return x
	}
	a = start(Config{DataDir: t.TempDir(), NatsListen: natsAddr})
	b = start(Config{DataDir: t.TempDir(), NatsURL: "nats://" + natsAddr})
	return a, b
}

// createKeys creates n organization keys named prefix-i on a, 16 at a
// time, and returns their ids and encoded credentials.
func createKeys(t *testing.T, a *App, prefix string, n int) (ids, encoded []string) {
	t.Helper()
	ids, encoded = make([]string, n), make([]string, n)
	errs := parallel(n, 16, func(i int) error {
		var out struct{ ID, Encoded string }
		body := fmt.Sprintf(`{"name":"%s-%d"}`, prefix, i)
		if err := call(a.URL(), "POST", "/api/v1/orgs/default/api-keys", basic(ownerAuth), body, 201, &out); err != nil {
			return err
		}
		ids[i], encoded[i] = out.ID, out.Encoded
		return nil
	})
	if errs != nil {
		t.Fatal(errs)
	}
	return ids, encoded
}

// useKeys authenticates a request with each key on app x, 16 at a time.
func useKeys(t *testing.T, x *App, encoded []string) {
	t.Helper()
	if err := parallel(len(encoded), 16, func(i int) error {
		return call(x.URL(), "GET", "/api/v1/whoami", "ApiKey "+encoded[i], "", 200, nil)
	}); err != nil {
		t.Fatal(err)
	}
}

// parallel runs fn(0..n-1), width at a time, and returns the first error.
func parallel(n, width int, fn func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	work := make(chan int)
	for range width {
		wg.Go(func() {
			for i := range work {
				if err := fn(i); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return first
}

// call sends one request (safe off the test's goroutine) and decodes the
// answer into out unless it is not the status wanted.
func call(base, method, path, auth, body string, want int, out any) error {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// usageRecords counts the KeyUsed events in the log, by key.
func usageRecords(t *testing.T, a *App) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]int{}
	err := a.Log.ReadRange(ctx, eventlog.Range{}, func(ev domain.Event) error {
		if ev.Type == (domain.KeyUsed{}).EventType() {
			out[ev.AggID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// flushBoth flushes both replicas at once, as their tickers may.
func flushBoth(t *testing.T, a, b *App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, x := range []*App{a, b} {
		wg.Go(func() { _, errs[i] = x.FlushUsage(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestTwoReplicasUsingTheSame1000KeysWriteOneUsageRecordEachPerHour(t *testing.T) {
	clock := testclock.New(time.Now().UTC().Truncate(time.Hour).Add(5 * time.Minute))
	a, b := usageReplicas(t, clock.Now)
	ids, encoded := createKeys(t, a, "svc", 1000)
	testwait.For(t, 20*time.Second, "replica b holds the keys", func() bool { return b.Keys.Len() == 1000 })
	before := a.Log.Conflicts()

	useKeys(t, a, encoded)
	useKeys(t, b, encoded)
	flushBoth(t, a, b)
	clock.Add(20 * time.Minute) // the same hour: used again, flushed again
	useKeys(t, a, encoded)
	useKeys(t, b, encoded)
	flushBoth(t, a, b)

	recs := usageRecords(t, a)
	if total(recs) != 1000 || len(recs) != 1000 {
		t.Fatalf("the log holds %d usage records for %d keys, want 1000 for 1000", total(recs), len(recs))
	}
	// Both replicas know every key's last use.
	testwait.For(t, 20*time.Second, "replica b folded every record", func() bool {
		k, ok := b.Keys.Get(defaultOrg(t, b), domain.KeyID(ids[999]))
		return ok && !k.LastUsed.IsZero()
	})

	// The next hour is another record per key, still one for both replicas.
	clock.Add(time.Hour)
	useKeys(t, b, encoded[:10])
	useKeys(t, a, encoded[:10])
	flushBoth(t, a, b)
	if recs := usageRecords(t, a); total(recs) != 1010 {
		t.Fatalf("after an hour more, %d usage records, want 1010", total(recs))
	}
	t.Logf("appends refused as stale meanwhile: %d", a.Log.Conflicts()-before)
}

func defaultOrg(t testing.TB, a *App) domain.TenantID {
	t.Helper()
	o, ok := a.Dir.Org("default")
	if !ok {
		t.Fatal("no organization default")
	}
	return o.ID
}
