package projections

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// BenchmarkRestore restores each of the projections a key fills from its
// snapshot of n keys (KEYPLANE_BENCH_KEYS, default 200,000) over 50
// tenants (KEYPLANE_BENCH_TENANTS): the part of a cold start from a
// snapshot that keyplane, not the log, spends. For the key list, also: a
// restore of its keys@4 snapshot (no indexes), and either restore followed
// by the first list of the first tenant in each sort an index keeps,
// which builds the indexes a keys@4 restore left to it.
func BenchmarkRestore(b *testing.B) {
	n := benchKeys(200_000)
	nt := 50
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_TENANTS")); err == nil && v > 0 {
		nt = v
	}
	keys, auth, expiry := NewKeys(), NewAuthIndex(), NewExpiry(domain.DefaultNoticeWindows)
	tenants := make([]domain.TenantID, nt)
	for i := range tenants {
		tenants[i] = commands.Random{}.TenantID()
	}
	exp := time.Now().Add(90 * 24 * time.Hour).UTC()
	for i := range n {
		id := commands.Random{}.KeyID()
		ev := domain.NewEvent("e", tenants[i%len(tenants)], domain.AggKey, string(id),
			domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner"}, Time: time.Now()},
			domain.KeyCreated{KeyID: id, Name: "deploy-" + strconv.Itoa(i), Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
				Owner: domain.Owner{User: "owner", Realm: "native"}, Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp,
				RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{"team": "infra"}})
		ev.Seq = uint64(i + 1)
		for _, p := range []Applier{keys, auth, expiry} {
			if err := p.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, p := range []Snapshotter{keys, auth, expiry} {
		snap, err := p.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.Name(), func(b *testing.B) { benchRestore(b, n, func() error { return p.Restore(snap) }) })
		if p != Snapshotter(keys) {
			continue
		}
		old := keysPart(b, keys)
		lists := func(into *Keys) error {
			for _, by := range listIndexes {
				into.List(Filter{Tenant: tenants[0]}, Page{Sort: by, Size: 50})
			}
			return nil
		}
		b.Run(keysV4, func(b *testing.B) { benchRestore(b, n, func() error { return NewKeys().RestoreOlder(keysV4, old) }) })
		b.Run(keysV4+"+lists", func(b *testing.B) {
			benchRestore(b, n, func() error {
				into := NewKeys()
				if err := into.RestoreOlder(keysV4, old); err != nil {
					return err
				}
				return lists(into)
			})
		})
		b.Run(keys.Name()+"+lists", func(b *testing.B) {
			benchRestore(b, n, func() error {
				into := NewKeys()
				if err := into.Restore(snap); err != nil {
					return err
				}
				return lists(into)
			})
		})
	}
}

// benchRestore times restore, a collection before each, none during (as
// app restores).
func benchRestore(b *testing.B, n int, restore func() error) {
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		gc := debug.SetGCPercent(-1) // as app restores
		err := restore()
		debug.SetGCPercent(gc)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
}

// BenchmarkRestoreListIndexes is the part of a keys@5 restore that reads
// the tenants' indexes (after the keys), for one project of
// KEYPLANE_BENCH_KEYS keys (default 1,000,000), a third of them used and
// a twentieth updated; and, beside it, the sort of each index that a
// keys@4 restore leaves to the first list in that order. It reports the
// bytes the indexes add to the snapshot.
func BenchmarkRestoreListIndexes(b *testing.B) {
	n := benchKeys(1_000_000)
	ks, t0 := projectKeys(b, n, func(i int) string { return fmt.Sprintf("user-%d", i%1000) })
	for i := range n {
		id := projectKeyID(i, n)
		var ev domain.Event
		switch {
		case i%3 == 0:
			ev = domain.NewEvent(fmt.Sprint(i), "t", domain.AggKeyUse, string(id), domain.Meta{Time: t0}, domain.KeyUsed{KeyID: id, Used: t0.Add(time.Duration(i%5000) * time.Hour)})
		case i%20 == 1:
			ev = domain.NewEvent(fmt.Sprint(i), "t", domain.AggKey, string(id), domain.Meta{Time: t0}, domain.KeyUpdated{NeverExpires: true})
		default:
			continue
		}
		ev.Seq = uint64(n + i + 1)
		if err := ks.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	snap, err := ks.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	into := NewKeys()
	if err := into.Restore(snap); err != nil {
		b.Fatal(err)
	}
	section := snap[len(keysPart(b, ks)):]
	list := into.byTenant["t"]
	b.Run("keys@5", func(b *testing.B) {
		for b.Loop() {
			list.lazyIndexes()
			r := reader{buf: section}
			if err := r.indexes(into.byTenant); err != nil || r.done() != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(section))/float64(n), "B/key")
	})
	for _, by := range listIndexes {
		b.Run("keys@4/"+by, func(b *testing.B) {
			for b.Loop() {
				list.lazyIndexes()
				list.viewOf(by)
			}
		})
	}
}

// benchKeys is the number of keys a benchmark folds: KEYPLANE_BENCH_KEYS,
// or def.
func benchKeys(def int) int {
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_KEYS")); err == nil && v > 0 {
		return v
	}
	return def
}
