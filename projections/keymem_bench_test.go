package projections

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkKeyStateMemory reports the live heap per key of the projections
// that keep something per key on the shared key table (KeyIndex, Expiry,
// AuthIndex, and the table itself; the audit trail beside them) after
// folding n KeyCreated events like BenchmarkScale's (api/es): one project,
// a name, an expiration of 1 to 365 days and two metadata fields each,
// decoded once and folded in runs as the runner does. n is
// KEYPLANE_BENCH_KEYS, default 100,000.
func BenchmarkKeyStateMemory(b *testing.B) {
	n := benchKeys(100_000)
	{
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				perKey, audit, restored := keyStateHeap(b, n)
				b.ReportMetric(perKey, "heap-B/key")
				b.ReportMetric(audit, "audit-B/key")
				b.ReportMetric(restored, "restored-B/key")
			}
		})
	}
}

// keyStateHeap folds n keys and returns the live heap per key of the key
// projections, then of the audit trail on the same table (a second fold
// of the same keys), then of the key projections restored from their
// snapshots onto a fresh table (a cold start).
func keyStateHeap(b *testing.B, n int) (float64, float64, float64) {
	b.StopTimer()
	defer b.StartTimer()
	before := keysLiveHeap()
	table := NewKeyTable()
	ix, exp, auth := NewKeyIndexIn(table), NewExpiryIn(domain.DefaultNoticeWindows, table), NewAuthIndexIn(table)
	foldKeys(b, n, ix, exp, auth)
	keys := keysLiveHeap()
	if path := os.Getenv("KEYPLANE_KEYSTATE_HEAPPROFILE"); path != "" {
		writeKeyStateProfile(b, path) // what the bytes per key are made of
	}
	if ix.Len() != n || exp.Len() != n || auth.Len() != n {
		b.Fatalf("indexed %d, scheduled %d, authenticated %d of %d keys", ix.Len(), exp.Len(), auth.Len(), n)
	}
	audit := NewAuditIn(table) // the same keys again: the table holds them
	foldKeys(b, n, audit)
	audited := keysLiveHeap()
	runtime.KeepAlive(audit)
	snaps, size := make([][]byte, 3), 0
	for i, p := range []Snapshotter{ix, exp, auth} {
		snap, err := p.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		snaps[i], size = snap, size+cap(snap)
	}
	table, ix, exp, auth, audit = nil, nil, nil, nil, nil
	held := keysLiveHeap() - uint64(size) // what is left but the snapshots
	fresh := NewKeyTable()
	restored := []Snapshotter{NewKeyIndexIn(fresh), NewExpiryIn(domain.DefaultNoticeWindows, fresh), NewAuthIndexIn(fresh)}
	for i, p := range restored {
		if err := p.Restore(snaps[i]); err != nil {
			b.Fatal(err)
		}
	}
	snaps = nil
	after := keysLiveHeap()
	runtime.KeepAlive(restored)
	return float64(keys-before) / float64(n), float64(audited-keys) / float64(n), float64(after-held) / float64(n)
}

// foldKeys folds n KeyCreated events into ps, decoded once and in runs of
// 256 as the runner folds them.
func foldKeys(b *testing.B, n int, ps ...BatchApplier) {
	now := time.Now().UTC()
	evs := make([]domain.Event, 0, 256)
	fold := func() {
		for _, p := range ps {
			if _, err := p.ApplyAll(evs); err != nil {
				b.Fatal(err)
			}
		}
		evs = evs[:0]
	}
	for i := range n {
		id := keyIDOf(i)
		expires := now.Add(time.Duration(1+i%365) * 24 * time.Hour)
		ev := domain.NewEvent(fmt.Sprint(i), "org1", domain.AggKey, string(id),
			domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner"}, Time: now},
			domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("key-%d", i), Scope: domain.ScopeProject, Project: "p1",
				Type: domain.KeyPersonal, Owner: domain.Owner{User: "owner", Realm: "native"}, Hash: domain.HashSecret([]byte(id)).String(),
				Expires: &expires, Metadata: map[string]any{"team": fmt.Sprintf("team-%d", i%10), "n": i}})
		ev.Seq = uint64(i + 1)
		ev, err := ev.Decoded()
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
		if len(evs) == cap(evs) {
			fold()
		}
	}
	fold()
}

func writeKeyStateProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// keyIDOf is a key id like commands.Random's (22 base64 characters), the
// same for the same i.
func keyIDOf(i int) domain.KeyID {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return domain.KeyID(base64.RawURLEncoding.EncodeToString(sum[:16]))
}

// BenchmarkRestoreKeyState is BenchmarkRestore for the key index and the
// audit trail (the projections a project key fills that it leaves out),
// over n keys in one project (KEYPLANE_BENCH_KEYS, default 100,000), each
// restored into fresh projections on a fresh table. "+indexes" restores
// the key index and makes every index of its project ready to read, as
// the first queries after a start do: what a start from a snapshot costs
// before every query is served from an index.
func BenchmarkRestoreKeyState(b *testing.B) {
	n := benchKeys(100_000)
	table := NewKeyTable()
	ix, audit := NewKeyIndexIn(table), NewAudit()
	foldKeys(b, n, ix, audit)
	for _, c := range []struct {
		name  string
		p     Snapshotter
		fresh func() Snapshotter
		then  func(Snapshotter)
	}{
		{ix.Name(), ix, func() Snapshotter { return NewKeyIndexIn(NewKeyTable()) }, nil},
		// As a start restores it: after the auth index numbered the table
		// by id.
		{ix.Name() + "-table-by-id", ix, func() Snapshotter { return NewKeyIndexIn(tableByID(table)) }, nil},
		{audit.Name() + "-table-by-id", audit, func() Snapshotter { return NewAuditIn(tableByID(table)) }, nil},
		{ix.Name() + "+indexes", ix, func() Snapshotter { return NewKeyIndexIn(NewKeyTable()) }, func(s Snapshotter) { readyKeyIndex(s.(*KeyIndex)) }},
		{audit.Name(), audit, func() Snapshotter { return NewAudit() }, nil},
	} {
		snap, err := c.p.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				fresh := c.fresh()
				runtime.GC()
				b.StartTimer()
				gc := debug.SetGCPercent(-1) // as app restores
				err := fresh.Restore(snap)
				debug.SetGCPercent(gc)
				if err != nil {
					b.Fatal(err)
				}
				if c.then != nil {
					c.then(fresh)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.ReportMetric(float64(len(snap))/float64(n), "snapshot-B/key")
		})
	}
}

// tableByID is a fresh table holding t's ids, numbered in id order as
// the auth index's restore numbers them.
func tableByID(t *KeyTable) *KeyTable {
	ids := slices.Sorted(slices.Values(t.ids))
	fresh := NewKeyTable()
	fresh.Reserve(len(ids))
	for _, id := range ids {
		fresh.slotFor(domain.KeyID(strings.Clone(string(id))))
	}
	return fresh
}

// readyKeyIndex makes every index of ix's projects ready to read, building
// those a restore left to their first reader.
func readyKeyIndex(ix *KeyIndex) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, pr := range ix.projects {
		pr.ready()
	}
}

// BenchmarkSnapshotKeyIndex writes the key index's snapshot of n keys in
// one project (KEYPLANE_BENCH_KEYS, default 100,000): the time its read
// lock is held, folds waiting, each time a snapshot is taken.
func BenchmarkSnapshotKeyIndex(b *testing.B) {
	n := benchKeys(100_000)
	ix := NewKeyIndexIn(NewKeyTable())
	foldKeys(b, n, ix, NewAudit())
	var locked time.Duration
	for b.Loop() {
		if _, err := ix.Snapshot(); err != nil {
			b.Fatal(err)
		}
		locked += lockedForSnapshot(ix)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds()-locked.Nanoseconds())/float64(b.N)/float64(n), "ns/key")
	b.ReportMetric(float64(locked.Nanoseconds())/float64(b.N)/1e6, "locked-ms")
}

// lockedForSnapshot is how long a snapshot of ix holds its read lock:
// the copy of its projects' views.
func lockedForSnapshot(ix *KeyIndex) time.Duration {
	t0 := time.Now()
	ix.mu.RLock()
	for id, pr := range ix.projects {
		pr.view(id)
	}
	ix.mu.RUnlock()
	return time.Since(t0)
}
