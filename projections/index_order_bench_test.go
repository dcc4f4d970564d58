package projections

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkOrderIndexBytes measures the live heap each index of a
// project's records costs, per key, built over 100,000 keys restored from
// a snapshot (one sort, no merge leftovers), a tenth of them invalidated:
// name and creation (index_names.go), owner, expiration, invalidation
// (index_order.go), and the term index (a field of 10 values, one of a
// value a key: sorted, index_wide.go); and the time its
// first reader takes to build it.
func BenchmarkOrderIndexBytes(b *testing.B) {
	const n = 100_000
	ix := NewKeyIndex()
	for i := range n {
		id := domain.KeyID(fmt.Sprintf("key%08d", i))
		exp := t0.Add(time.Duration(1+i%365) * 24 * time.Hour)
		for _, p := range []domain.Payload{
			domain.KeyCreated{KeyID: id, Name: fmt.Sprint("key-", i), Scope: domain.ScopeProject, Project: "p1", Expires: &exp,
				Owner: domain.Owner{User: fmt.Sprint("user", i%50), Realm: "native"}, Hash: hashHex, Metadata: map[string]any{"team": fmt.Sprint("team-", i%10), "n": float64(i)}},
			domain.KeyInvalidated{Reason: "x"},
		}[:1+btoi(i%10 == 0)] {
			if err := ix.Apply(domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(i) * time.Millisecond)}, p)); err != nil {
				b.Fatal(err)
			}
		}
	}
	snap, err := ix.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		x := NewKeyIndex()
		if err := x.Restore(snap); err != nil {
			b.Fatal(err)
		}
		pr := x.projects["p1"]
		keysLiveHeap() // the restore's garbage goes before the first measure
		for _, f := range []string{"name", "creation", "username", "expiration", "invalidation", "terms"} {
			before, start := keysLiveHeap(), time.Now()
			if f == "terms" {
				pr.terms.ready(pr.Records)
			} else {
				pr.orderOf(OrderField(f))
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds()), f+"-build-ms")
			b.ReportMetric(float64(keysLiveHeap()-before)/n, f+"-B/key")
		}
		runtime.KeepAlive(x)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
