package app

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/projections"
)

// BenchmarkUsageHTTPAuth compares authenticating API keys over HTTP (GET
// /api/v1/whoami, 1,000 keys taken in turn) with usage tracking on and off
// on one keyplane, alternating with the no-op handler in each round
// (testhttp.CompareEach). The flusher runs every second meanwhile. The
// logged medians: noop/usage-on and noop/usage-off (the figure of merit of
// each), and usage-off/usage-on (1: tracking costs nothing measurable;
// below 1, it costs).
func BenchmarkUsageHTTPAuth(b *testing.B) {
	a := startApp(b, b.TempDir(), nil, func(c *Config) { c.UsageFlush = time.Second })
	_, encoded := createKeys(b, a, "bench", 1000)
	auth := make([]string, len(encoded))
	for i, e := range encoded {
		auth[i] = "ApiKey " + e
	}
	url := a.URL() + "/api/v1/whoami"
	testhttp.CompareEach(b,
		testhttp.Variant{Name: "usage-on", URL: url, Auth: auth, Before: func() { a.Auth.NoteUsage(a.Usage) }},
		testhttp.Variant{Name: "usage-off", URL: url, Auth: auth, Before: func() { a.Auth.NoteUsage(nil) }})
	a.Auth.NoteUsage(a.Usage)
}

// BenchmarkUsageRecordsTwoReplicas is an hour of two replicas on one log
// authenticating each of 100,000 keys 10 times (through the auth index,
// as every request does, without HTTP), then both flushing at once. It
// reports the usage records the log gained in the hour (records/op; the
// goal is one per key, 100,000, not the 2,000,000 uses) and the flush's
// time. KEYPLANE_BENCH_USAGE_KEYS shrinks it.
func BenchmarkUsageRecordsTwoReplicas(b *testing.B) {
	n := benchSize("KEYPLANE_BENCH_USAGE_KEYS", 100_000)
	clock := testclock.New(time.Now().UTC().Truncate(time.Hour))
	a, r := usageReplicas(b, clock.Now)
	org := defaultOrg(b, a)
	ids := make([]domain.KeyID, n)
	exp := clock.Now().Add(365 * 24 * time.Hour)
	fillLog(b, a.Log, n, func(n int, emit func(domain.Event)) {
		m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "alice", Name: "alice"}, Time: clock.Now()}
		for i := range n {
			id := commands.Random{}.KeyID()
			ids[i] = id
			emit(domain.NewEvent(uuid.NewString(), org, domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id, Name: "k" + strconv.Itoa(i),
				Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice", Realm: domain.RealmMembers},
				Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp, RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{}}))
		}
	})
	last, err := a.Log.LastSeq(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, x := range []*App{a, r} {
		if err := x.Runner.WaitFor(context.Background(), last); err != nil {
			b.Fatal(err)
		}
	}
	subjects := "kp." + string(org) + "." + domain.AggKeyUse + ".>"
	counted := 0
	b.ResetTimer()
	for range b.N {
		clock.Add(time.Hour)
		start := clock.Now()
		var wg sync.WaitGroup
		for _, x := range []*App{a, r} {
			wg.Go(func() { useEach(b, x.Auth, ids, 10, start) })
		}
		wg.Wait()
		flushStart := time.Now()
		flushBoth(b, a, r)
		b.ReportMetric(time.Since(flushStart).Seconds(), "flush-s")
		total := countEvents(b, a.Log, subjects)
		b.ReportMetric(float64(total-counted), "records/op")
		b.ReportMetric(float64(2*10*n), "uses/op")
		counted = total
	}
}

// useEach verifies each key uses times, its uses spread over the hour
// from start, as requests through the auth index would.
func useEach(b *testing.B, auth *projections.AuthIndex, ids []domain.KeyID, uses int, start time.Time) {
	for u := range uses {
		at := start.Add(time.Duration(u) * 5 * time.Minute)
		for _, id := range ids {
			if v := auth.Verify([]byte(id), []byte(id), at); v != projections.Valid {
				b.Errorf("key %s: verdict %d", id, v)
				return
			}
		}
	}
}

// countEvents counts the events on subjects.
func countEvents(b *testing.B, l *eventlog.Log, subjects string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := 0
	if err := l.ReadRange(ctx, eventlog.Range{Subject: subjects}, func(domain.Event) error { n++; return nil }); err != nil {
		b.Fatal(err)
	}
	return n
}
