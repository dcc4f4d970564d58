package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkHTTPAuth compares authenticating an API key over HTTP (GET
// /api/v1/whoami) with a no-op net/http handler, alternating in rounds
// (testhttp.CompareWithNoop); the logged median ratio is the figure of merit.
//
// fresh-check authenticates with --max-staleness set (every credential
// first asks whether the index is current), the other without.
func BenchmarkHTTPAuth(b *testing.B) {
	for _, c := range []struct {
		name  string
		stale time.Duration
	}{{"apikey", 0}, {"apikey-fresh-check", DefaultMaxStaleness}} {
		b.Run(c.name, func(b *testing.B) {
			a := startApp(b, b.TempDir(), nil, func(cfg *Config) { cfg.MaxStaleness = c.stale })
			_, enc := a.as(b, basic(ownerAuth)).createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "bench"})
			testhttp.CompareWithNoop(b, c.name, a.URL()+"/api/v1/whoami", "ApiKey "+enc)
		})
	}
}

// latencies records per-operation durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B) {
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	if len(l.d) == 0 {
		return
	}
	b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkCreate measures create-key commands (decide, append with fsync
// before ack, wait for the projections) against raw synchronous JetStream
// publishes of an event of the same size with the same expected-sequence
// header, and a raw atomic batch of 100, in one embedded server (fsync
// always). clients-N runs N concurrent callers.
func BenchmarkCreate(b *testing.B) {
	a := startApp(b, b.TempDir(), nil)
	p, err := a.Logins.Authenticate("alice", "alice-password")
	if err != nil {
		b.Fatal(err)
	}
	org, _ := a.Dir.Org("default")
	cmd := domain.CreateKey{Tenant: org.ID, Scope: domain.ScopeOrg, Name: "bench-key"}
	sample, _ := json.Marshal(domain.NewEvent("0123456789abcdef0123456789abcdef", org.ID, domain.AggKey, string(commands.Random{}.KeyID()),
		domain.Meta{Actor: p.Actor(), Time: time.Now(), CorrelationID: "0123456789abcdef0123456789abcdef"},
		domain.KeyCreated{KeyID: commands.Random{}.KeyID(), Name: "bench-key", Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
			Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: domain.HashSecret(nil).String(), Metadata: map[string]any{}}))
	nc, err := nats.Connect("", nats.InProcessServer(a.Log.Server()))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var subj sync.Mutex
	n := 0
	nextSubject := func() string {
		subj.Lock()
		defer subj.Unlock()
		n++
		return fmt.Sprintf("kp.bench.raw.%d", n)
	}
	parallel := func(clients int, op func() error) func(*testing.B) {
		return func(b *testing.B) {
			var lat latencies
			b.SetParallelism((clients + 1) / 2)
			if clients == 1 {
				b.SetParallelism(1)
			}
			b.ResetTimer()
			body := func(pb *testing.PB) {
				for pb.Next() {
					t0 := time.Now()
					if err := op(); err != nil {
						b.Fatal(err)
					}
					lat.add(time.Since(t0))
				}
			}
			if clients == 1 {
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if err := op(); err != nil {
						b.Fatal(err)
					}
					lat.add(time.Since(t0))
				}
			} else {
				b.RunParallel(body)
			}
			b.StopTimer()
			lat.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		}
	}
	create := func() error {
		_, err := a.Commands.CreateKey(context.Background(), p, domain.Meta{Actor: p.Actor()}, cmd, "")
		return err
	}
	rawPublish := func() error {
		_, err := js.Publish(context.Background(), nextSubject(), sample, jetstream.WithExpectLastSequencePerSubject(0))
		return err
	}
	for _, clients := range []int{1, 8, 50} {
		b.Run("raw-publish/clients-"+strconv.Itoa(clients), parallel(clients, rawPublish))
		b.Run("create/clients-"+strconv.Itoa(clients), parallel(clients, create))
	}
	b.Run("raw-atomic-batch-100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			id := fmt.Sprint("b", i, time.Now().UnixNano())
			for j := 1; j <= 100; j++ {
				m := nats.NewMsg(nextSubject())
				m.Data = sample
				m.Header.Set("Nats-Batch-Id", id)
				m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(j))
				m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
				if j == 100 {
					m.Header.Set("Nats-Batch-Commit", "1")
					if _, err := nc.RequestMsg(m, 10*time.Second); err != nil {
						b.Fatal(err)
					}
				} else if err := nc.PublishMsg(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	})
}
