package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/projections"
)

// benchSize reads a size from the environment (scripts/bench can shrink
// the benchmarks on a slow machine).
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// keyHistory is a realistic log of n events over 50 organizations: key
// creations with owners, expirations and metadata, and every tenth event
// an update, every twentieth a revocation, of an earlier key.
func keyHistory(n int, emit func(domain.Event)) {
	tenants := make([]domain.TenantID, 50)
	for i := range tenants {
		tenants[i] = commands.Random{}.TenantID()
	}
	var keys []domain.KeyID
	var owners []domain.TenantID
	exp := time.Now().Add(90 * 24 * time.Hour).UTC()
	for i := 0; i < n; i++ {
		m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner" + strconv.Itoa(i%200), Name: "owner" + strconv.Itoa(i%200)},
			Source: domain.Source{Addr: "10.1.2." + strconv.Itoa(i%250), UserAgent: "terraform/1.9"}, CorrelationID: uuid.NewString(), Time: time.Now()}
		var ev domain.Event
		switch {
		case i%20 == 19 && len(keys) > 10:
			k := len(keys) - 10
			ev = domain.NewEvent(uuid.NewString(), owners[k], domain.AggKey, string(keys[k]), m, domain.KeyInvalidated{})
		case i%10 == 9 && len(keys) > 5:
			k := len(keys) - 5
			md := map[string]any{"rotated": i}
			ev = domain.NewEvent(uuid.NewString(), owners[k], domain.AggKey, string(keys[k]), m, domain.KeyUpdated{Metadata: &md})
		default:
			id, t := commands.Random{}.KeyID(), tenants[i%len(tenants)]
			keys, owners = append(keys, id), append(owners, t)
			ev = domain.NewEvent(uuid.NewString(), t, domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id, Name: "deploy-" + strconv.Itoa(i),
				Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: m.Actor.ID, Realm: "native"},
				Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp, RoleDescriptors: domain.RoleDescriptors{},
				Metadata: map[string]any{"team": "infra"}})
		}
		emit(ev)
	}
}

// oneProjectHistory is keyHistory with every key of one project of one
// organization (issue 27's customer keys: KEYPLANE_BENCH_ONE_PROJECT),
// each with a team of ten and an id of its own in metadata, so that a
// start restores the query API's indexes of a million keys too.
func oneProjectHistory(n int, emit func(domain.Event)) {
	tenant := commands.Random{}.TenantID()
	i := 0
	keyHistory(n, func(ev domain.Event) {
		i++
		if ev.Type == "KeyCreated" {
			p, err := ev.Decode()
			if err != nil {
				panic(err)
			}
			c := p.(domain.KeyCreated)
			c.Scope, c.Project = domain.ScopeProject, "p1"
			c.Metadata = map[string]any{"team": "team-" + strconv.Itoa(i%10), "customer": string(c.KeyID)}
			ev = domain.NewEvent(ev.ID, tenant, ev.AggType, ev.AggID,
				domain.Meta{Actor: ev.Actor, Source: ev.Source, CorrelationID: ev.CorrelationID, Time: ev.Time}, c)
		} else {
			ev.Tenant = tenant
		}
		emit(ev)
	})
}

// fillLog writes events to the log in batches of 100 from 8 writers (the
// group commit's batch size), without concurrency checks.
func fillLog(tb testing.TB, l *eventlog.Log, n int, gen func(int, func(domain.Event))) {
	tb.Helper()
	ctx := context.Background()
	batches := make(chan []eventlog.Append, 16)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for b := range batches {
				if err := appendRetried(ctx, l, b); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var batch []eventlog.Append
	gen(n, func(ev domain.Event) {
		batch = append(batch, eventlog.Append{Event: ev, AnySeq: true})
		if len(batch) == 100 {
			batches <- batch
			batch = nil
		}
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
}

// appendRetried appends b, again while the log answers that it is
// unavailable: on a busy machine a commit round may take longer than the
// committer waits. A repeat refused for the ids it holds means the batch
// that timed out was written (it is atomic).
func appendRetried(ctx context.Context, l *eventlog.Log, b []eventlog.Append) error {
	for try := 1; ; try++ {
		_, err := l.Append(ctx, b...)
		if err != nil && try > 1 && strings.Contains(err.Error(), "duplicate message id") {
			return nil
		}
		if err == nil || try == 10 || !domain.IsKind(err, domain.KindUnavailable) {
			return err
		}
	}
}

func openBenchLog(tb testing.TB, dir string) *eventlog.Log {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Relaxed fsync only to write the fixture quickly; reads do not fsync.
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: dir, FsyncInterval: time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// BenchmarkReplay compares, over one stream written once, a raw read of
// every event with an ordered consumer (no decoding) and `keyplane
// replay`'s rebuild of every projection from it, alternately in each
// iteration so that both see the same machine. It reports the median
// events/s of each, their ratio (goal >= 0.8), and the CPU time per event
// of each (process user+system: steadier than wall time on a shared box).
// A third series reads and decodes every event but folds nothing: the
// part of a replay's cost that is not the projections'. A fourth is the raw
// read again under the replay's collector setting (off up to a memory
// limit): replay/raw-same-gc is the replay's cost with the collector's
// share of the difference taken out. Page faults per event are reported
// for the raw read and the replay: with the collector off, every byte a
// replay allocates is memory the process touches for the first time,
// unless an earlier run left it mapped, and each 4 KiB page of it costs
// a fault. So a fifth series is the replay again right after one, while
// what the first one freed is still mapped (the runtime keeps it while the
// collector is off up to a limit): replay-again/raw is what decoding and
// folding cost without the kernel handing out fresh pages.
//
// Every series but that fifth one starts with the free heap handed back to
// the kernel (debug.FreeOSMemory), as in the new process `keyplane replay`
// is. Without it a series ran on whatever the series before it had left
// mapped, which the runtime hands back only slowly: a replay then took
// 0.5-0.68 faults an event instead of a new process's 1.03-1.06, and its
// ratio flattered it by about a tenth.
func BenchmarkReplay(b *testing.B) {
	n := benchSize("KEYPLANE_BENCH_REPLAY_EVENTS", 200_000)
	l := openBenchLog(b, b.TempDir())
	defer l.Close()
	fillLog(b, l, n, keyHistory)
	ctx := context.Background()
	raw := func() error {
		count := 0
		err := l.Scan(ctx, eventlog.Range{}, func(uint64, []byte) error { count++; return nil })
		if err == nil && count != n {
			err = fmt.Errorf("read %d of %d", count, n)
		}
		return err
	}
	replay := func() error {
		r, err := Rebuild(ctx, Config{}, l, 0, nil)
		if err == nil && r.Applied() != uint64(n) {
			err = fmt.Errorf("rebuilt %d of %d", r.Applied(), n)
		}
		return err
	}
	decodeOnly := func() error {
		count := 0
		err := l.ReadRange(ctx, eventlog.Range{}, func(domain.Event) error { count++; return nil })
		if err == nil && count != n {
			err = fmt.Errorf("decoded %d of %d", count, n)
		}
		return err
	}
	// The replay runs with the collector off up to a memory limit
	// (replayingOffline); so does this raw read, to tell how much of the
	// difference is the collector's.
	rawReplayGC := func() error {
		defer replayingOffline()()
		return raw()
	}
	var rawRate, replayRate, rawCPU, replayCPU, decodeRate, decodeCPU, rawGCRate, rawGCCPU, rawFaults, replayFaults, none []float64
	var againRate, againCPU, againFaults []float64
	for b.Loop() {
		for _, m := range []struct {
			run               func() error
			rate, cpu, faults *[]float64
			warm              bool
		}{{raw, &rawRate, &rawCPU, &rawFaults, false}, {decodeOnly, &decodeRate, &decodeCPU, &none, false},
			{replay, &replayRate, &replayCPU, &replayFaults, false}, {replay, &againRate, &againCPU, &againFaults, true},
			{rawReplayGC, &rawGCRate, &rawGCCPU, &none, false}} {
			if m.warm {
				runtime.GC()
			} else {
				debug.FreeOSMemory()
			}
			t0, c0, f0 := time.Now(), cpuTime(), pageFaults()
			if err := m.run(); err != nil {
				b.Fatal(err)
			}
			*m.rate = append(*m.rate, float64(n)/time.Since(t0).Seconds())
			*m.cpu = append(*m.cpu, float64((cpuTime()-c0).Nanoseconds())/1e3/float64(n))
			*m.faults = append(*m.faults, float64(pageFaults()-f0)/float64(n))
		}
	}
	b.ReportMetric(median(rawRate), "raw-events/s")
	b.ReportMetric(median(replayRate), "replay-events/s")
	b.ReportMetric(median(replayRate)/median(rawRate), "replay/raw")
	b.ReportMetric(median(rawCPU), "raw-cpu-µs/event")
	b.ReportMetric(median(replayCPU), "replay-cpu-µs/event")
	b.ReportMetric(median(decodeRate)/median(rawRate), "decode-only/raw")
	b.ReportMetric(median(decodeCPU), "decode-only-cpu-µs/event")
	b.ReportMetric(median(replayRate)/median(rawGCRate), "replay/raw-same-gc")
	b.ReportMetric(median(rawGCCPU), "raw-same-gc-cpu-µs/event")
	b.ReportMetric(median(rawFaults), "raw-faults/event")
	b.ReportMetric(median(replayFaults), "replay-faults/event")
	b.ReportMetric(median(againRate)/median(rawRate), "replay-again/raw")
	b.ReportMetric(median(againCPU), "replay-again-cpu-µs/event")
	b.ReportMetric(median(againFaults), "replay-again-faults/event")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pageFaults is the number of page faults the process has taken so far
// that needed no disk read: on a fresh page, that is the kernel handing
// it over zeroed.
func pageFaults() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkColdStart starts keyplane on a log of a million key creations
// (KEYPLANE_BENCH_KEYS), with snapshots off (the whole log is folded) and
// from a snapshot taken at the end of the log, three times each, and
// reports the median start (open the log, load, catch up, serve) in ms.
//
// The starts from the snapshot wait until the stream's duplicate window
// has passed since the log was written: within it, nats-server reads back
// every event of the window on start (eventlog.DuplicateWindow), a cost of
// the writes just made rather than of the keys, which would otherwise
// depend on how long the full replays before took.
//
// KEYPLANE_BENCH_COLD_DIR names a directory to keep the log in (a data
// directory in it for each size and history, coldDir): the first run
// writes it (minutes at a million keys, then the duplicate
// window), later runs start from it at once. Copy it for each binary
// compared: a start saves a snapshot of its own version on Close.
func BenchmarkColdStart(b *testing.B) {
	n := benchSize("KEYPLANE_BENCH_KEYS", 1_000_000)
	dir, total, written, kept := coldStartLog(b, n)
	start := func(b *testing.B, snapshots time.Duration) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		t0 := time.Now()
		a, err := Start(ctx, Config{DataDir: dir, Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, SnapshotInterval: snapshots,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		if a.Auth.Len() < n*9/10 {
			b.Fatalf("started with %d keys", a.Auth.Len())
		}
		a.Close()
		return took
	}
	if !kept {
		start(b, time.Hour) // folds everything once and saves a snapshot on Close
		keepColdStartLog(b, dir)
	}
	for _, c := range []struct {
		name      string
		snapshots time.Duration
	}{{"full-replay", -1}, {"from-snapshot", time.Hour}} {
		if c.snapshots > 0 {
			time.Sleep(time.Until(written.Add(eventlog.DuplicateWindow + 5*time.Second)))
		}
		b.Run(c.name, func(b *testing.B) {
			var runs []time.Duration
			for b.Loop() {
				runs = append(runs, start(b, c.snapshots))
			}
			reportStarts(b, runs, total)
		})
	}
	// The starts above share one process: from the second on, the heap the
	// earlier ones freed is already mapped. A restart is a new process,
	// which faults in every page of its state: measured here as what an
	// operator sees, `keyplane serve` run anew until it logs that it serves.
	b.Run("from-snapshot-new-process", func(b *testing.B) {
		if _, err := testproc.Build(testproc.KeyplanePkg); err != nil {
			b.Fatal(err)
		}
		var runs []time.Duration
		for b.Loop() {
			t0 := time.Now()
			r := testproc.StartReplica(b, "keyplane", "--data-dir", dir, "--snapshot-interval", "1h")
			runs = append(runs, time.Since(t0))
			r.Stop(time.Minute)
		}
		reportStarts(b, runs, total)
	})
}

// coldStartLog writes BenchmarkColdStart's log of n keys, or finds it
// written (and snapshotted) in KEYPLANE_BENCH_COLD_DIR, and says when it
// was written.
func coldStartLog(b *testing.B, n int) (dir string, total uint64, written time.Time, kept bool) {
	dir = coldDir(b, n)
	if fi, err := os.Stat(coldMarker(dir)); err == nil {
		l := openBenchLog(b, dir)
		total, _ = l.LastSeq(context.Background())
		l.Close()
		return dir, total, fi.ModTime(), true
	}
	l := openBenchLog(b, dir)
	history := keyHistory
	if os.Getenv("KEYPLANE_BENCH_ONE_PROJECT") != "" {
		history = oneProjectHistory
	}
	fillLog(b, l, n, func(n int, emit func(domain.Event)) {
		history(n, func(ev domain.Event) {
			if ev.Type == "KeyCreated" || ev.Type == "KeyInvalidated" {
				emit(ev)
			}
		})
	})
	total, _ = l.LastSeq(context.Background())
	l.Close()
	return dir, total, time.Now(), false
}

// coldDir is where BenchmarkColdStart's log of n keys lives: with
// KEYPLANE_BENCH_COLD_DIR, a directory of it named by its keys and its
// history. Each kept log has a directory of its own: a log of one
// history found unmarked where another's was kept would have had the
// other's keys appended to it (scripts/bench runs both in one
// KEYPLANE_BENCH_COLD_DIR: replay.sh, then scale.sh).
func coldDir(b *testing.B, n int) string {
	kept := os.Getenv("KEYPLANE_BENCH_COLD_DIR")
	if kept == "" {
		return b.TempDir()
	}
	name := "bench-keys-" + strconv.Itoa(n)
	if os.Getenv("KEYPLANE_BENCH_ONE_PROJECT") != "" {
		name += "-one-project"
	}
	return filepath.Join(kept, name)
}

// keepColdStartLog marks dir as holding a whole log and its snapshot,
// for the next run.
func keepColdStartLog(b *testing.B, dir string) {
	if err := os.WriteFile(coldMarker(dir), nil, 0o644); err != nil {
		b.Fatal(err)
	}
}

// coldMarker is the mark of a log kept whole in dir.
func coldMarker(dir string) string { return filepath.Join(dir, "bench-complete") }

func reportStarts(b *testing.B, runs []time.Duration, events uint64) {
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	b.ReportMetric(float64(runs[len(runs)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(events), "events")
}

// BenchmarkAuthIndexMemory builds the auth index of a million keys
// (KEYPLANE_BENCH_KEYS) and reports the live heap it holds per key (goal
// <= 200 bytes), the key ids' strings included.
func BenchmarkAuthIndexMemory(b *testing.B) {
	n := benchSize("KEYPLANE_BENCH_KEYS", 1_000_000)
	exp := time.Now().Add(24 * time.Hour)
	for b.Loop() {
		live := liveBytes(func() any {
			idx := projections.NewAuthIndex()
			for i := 0; i < n; i++ {
				id := commands.Random{}.KeyID()
				ev := domain.NewEvent("e", "t", domain.AggKey, string(id), domain.Meta{Time: exp},
					domain.KeyCreated{KeyID: id, Name: "k", Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
						Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp})
				if err := idx.Apply(ev); err != nil {
					b.Fatal(err)
				}
			}
			if idx.Len() != n {
				b.Fatal(fmt.Sprint("indexed ", idx.Len()))
			}
			return idx
		})
		b.ReportMetric(live/float64(n), "bytes/key")
	}
}

// liveBytes is the heap that what build returns holds once built.
func liveBytes(build func() any) float64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return float64(after.HeapAlloc - before.HeapAlloc)
}

// BenchmarkAuditMemory folds a million events (KEYPLANE_BENCH_KEYS) of
// keyHistory into the audit index and reports its live heap per event,
// its own key table included (README: in the server the table is shared,
// and the index alone is 32 bytes an event and 4 a key; the entries
// themselves are read from the log).
func BenchmarkAuditMemory(b *testing.B) {
	n := benchSize("KEYPLANE_BENCH_KEYS", 1_000_000)
	for b.Loop() {
		var idx *projections.Audit
		live := liveBytes(func() any {
			idx = projections.NewAudit()
			seq := uint64(0)
			keyHistory(n, func(ev domain.Event) {
				seq++
				ev.Seq = seq
				if err := idx.Apply(ev); err != nil {
					b.Fatal(err)
				}
			})
			return idx
		})
		b.ReportMetric(live/float64(idx.Len()), "bytes/event")
	}
}
