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
func usageReplicas(t testing.TB, now func() time.Time) (a, b *App) {
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
func createKeys(t testing.TB, a *App, prefix string, n int) (ids, encoded []string) {
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
func useKeys(t testing.TB, x *App, encoded []string) {
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
func flushBoth(t testing.TB, a, b *App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
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

// flush writes a's noted uses down now.
func flush(t testing.TB, a *App) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := a.FlushUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestASecondRecordOfAnHourDecidedOnStaleStateIsRefusedByTheLogWhateverItsMessageID(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.UsageFlush = time.Hour })
	owner := a.as(t, basic(ownerAuth))
	id, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ci"})
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	if n := flush(t, a); n != 1 {
		t.Fatalf("flush wrote %d records, want 1", n)
	}
	// A replica that has not seen that record (its usage subject empty,
	// to it) and whose message id the stream no longer remembers.
	org := defaultOrg(t, a)
	stale := domain.NewEvent("another-id", org, domain.AggKeyUse, id, domain.Meta{Time: time.Now()}, domain.KeyUsed{KeyID: domain.KeyID(id), Used: time.Now()})
	_, err := a.Log.Append(context.Background(), eventlog.Append{Event: stale, Expect: 0})
	if !domain.IsKind(err, domain.KindConflict) {
		t.Fatalf("a record expecting an empty usage subject was answered %v, want a conflict", err)
	}
	if recs := usageRecords(t, a); recs[id] != 1 {
		t.Fatalf("%d records of the key, want 1", recs[id])
	}
}

func TestAUsageRecordNeverMakesAUserCommandOnTheKeyConflict(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.UsageFlush = time.Hour })
	owner := a.as(t, basic(ownerAuth))
	id, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ci"})
	org := defaultOrg(t, a)
	decided, _ := a.Keys.Get(org, domain.KeyID(id)) // a command's state, before the use is recorded
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	flush(t, a)
	now, _ := a.Keys.Get(org, domain.KeyID(id))
	if now.LastUsed.IsZero() || now.Seq != decided.Seq {
		t.Fatalf("after the record: last used %v, key sequence %d (was %d)", now.LastUsed, now.Seq, decided.Seq)
	}
	md := map[string]any{"team": "x"}
	upd := domain.NewEvent("upd-1", org, domain.AggKey, id, domain.Meta{Time: time.Now()}, domain.KeyUpdated{Metadata: &md})
	if _, err := a.Log.Append(context.Background(), eventlog.Append{Event: upd, Expect: decided.Seq}); err != nil {
		t.Fatalf("an update decided before the usage record: %v", err)
	}
}

func TestAKeyUsedIsShownWithItsLastUseOnceTheBackgroundFlushWroteIt(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 6, 10, 17, 3, 0, time.UTC))
	a := startApp(t, t.TempDir(), clock.Now, func(c *Config) { c.UsageFlush = 20 * time.Millisecond })
	owner := a.as(t, basic(ownerAuth))
	id, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ci"})
	path := "/api/v1/orgs/default/api-keys/" + id
	if r := owner.do("GET", path, nil).must(t, 200); r.body["last_used"] != nil {
		t.Fatalf("a key never used shows last_used %v", r.body["last_used"])
	}
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	var shown any
	testwait.For(t, 10*time.Second, "the key's last use shown", func() bool {
		shown = owner.do("GET", path, nil).body["last_used"]
		return shown != nil
	})
	if shown != "2026-12-06T10:17:03Z" {
		t.Fatalf("last_used %v, want 2026-12-06T10:17:03Z", shown)
	}
	list := owner.do("GET", "/api/v1/orgs/default/api-keys", nil).must(t, 200)
	if got := list.body["api_keys"].([]any)[0].(map[string]any)["last_used"]; got != shown {
		t.Fatalf("the list shows last_used %v", got)
	}
	audit := owner.do("GET", "/api/v1/orgs/default/audit?key_id="+id, nil).must(t, 200)
	for _, e := range audit.body["entries"].([]any) {
		if e.(map[string]any)["last_used"] != shown {
			t.Fatalf("audit entry %v without the key's last use", e)
		}
	}
	if n := len(audit.body["entries"].([]any)); n != 1 {
		t.Fatalf("%d audit entries of the key, want its creation only (uses are not changes)", n)
	}
}

func TestNoUseIsNotedWithUsageTrackingOff(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.UsageFlush = -1 })
	owner := a.as(t, basic(ownerAuth))
	_, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ci"})
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	if n := flush(t, a); n != 0 || len(usageRecords(t, a)) != 0 {
		t.Fatalf("with tracking off a flush wrote %d records", n)
	}
}

func TestLastUseSurvivesARestartFromTheLogOrASnapshotAndAsOfKnowsWhenItWasUsed(t *testing.T) {
	for name, snapshots := range map[string]time.Duration{"from the log": -1, "from a snapshot": 0} {
		t.Run(name, func(t *testing.T) {
			clock := testclock.New(time.Date(2026, 12, 6, 10, 5, 0, 0, time.UTC))
			dir := t.TempDir()
			cfg := func(c *Config) { c.UsageFlush, c.SnapshotInterval = time.Hour, snapshots }
			a := startApp(t, dir, clock.Now, cfg)
			owner := a.as(t, basic(ownerAuth))
			id, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ci"})
			clock.Add(time.Hour)
			a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
			clock.Add(time.Hour)
			a.Close() // its last notes flushed on the way out

			b := startApp(t, dir, clock.Now, cfg)
			owner = b.as(t, basic(ownerAuth))
			if got := owner.do("GET", "/api/v1/orgs/default/api-keys/"+id, nil).body["last_used"]; got != "2026-12-06T11:05:00Z" {
				t.Fatalf("after a restart last_used is %v", got)
			}
			for at, want := range map[string]any{"2026-12-06T10:30:00Z": nil, "2026-12-06T12:05:00Z": "2026-12-06T11:05:00Z"} {
				r := owner.do("GET", "/api/v1/orgs/default/api-keys?as_of="+at, nil).must(t, 200)
				keys := r.body["api_keys"].([]any)
				if len(keys) != 1 || keys[0].(map[string]any)["last_used"] != want {
					t.Fatalf("as_of %s: %v, want last_used %v", at, keys, want)
				}
			}
		})
	}
}

func TestTheKeyListsCursorWalksPastTenThousandKeys(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.UsageFlush = time.Hour })
	org := defaultOrg(t, a)
	const n = 12_000
	fillLog(t, a.Log, n, func(n int, emit func(domain.Event)) {
		m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "alice", Name: "alice"}, Time: time.Now()}
		for i := range n {
			id := domain.KeyID(fmt.Sprintf("key%05d", i))
			emit(domain.NewEvent(fmt.Sprintf("e%05d", i), org, domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id, Name: "k",
				Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice", Realm: domain.RealmMembers},
				Hash: domain.HashSecret([]byte(id)).String(), RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{}}))
		}
	})
	testwait.For(t, 30*time.Second, "the keys folded", func() bool { return a.Keys.Len() == n })
	owner := a.as(t, basic(ownerAuth))
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		r := owner.do("GET", "/api/v1/orgs/default/api-keys?sort=last_used&size=5000&cursor="+cursor, nil).must(t, 200)
		for _, k := range r.body["api_keys"].([]any) {
			seen[k.(map[string]any)["id"].(string)] = true
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("the walk saw %d keys of %d", len(seen), n)
	}
}
