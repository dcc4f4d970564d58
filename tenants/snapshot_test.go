package tenants

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// fold applies evs to p, in order, and returns p.
func fold[P projections.Applier](tb testing.TB, p P, evs []domain.Event) P {
	tb.Helper()
	for _, ev := range evs {
		if err := p.Apply(ev); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// foldAndRestore folds evs into fresh(), restores another fresh() from the
// first one's snapshot, and fails unless the two have the same digest.
func foldAndRestore[P projections.Snapshotter](t *testing.T, fresh func() P, evs []domain.Event) (folded, restored P) {
	t.Helper()
	folded = fold(t, fresh(), evs)
	snap, err := folded.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored = fresh()
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	_, d1, ok1, err1 := projections.DigestOf(folded)
	_, d2, ok2, err2 := projections.DigestOf(restored)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || d1 == "" {
		t.Fatalf("%s has no digest: %v %v %v %v", folded.Name(), ok1, ok2, err1, err2)
	}
	if d1 != d2 {
		t.Fatalf("restored %s differs from the folded one", folded.Name())
	}
	return folded, restored
}
