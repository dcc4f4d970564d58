package projections

import (
	"context"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Applying an event replaces the runner's notify channel only when someone
// waits: every waiter, whenever it started waiting, must still wake.
func TestEveryWaiterWakesWhenItsSequenceIsApplied(t *testing.T) {
	r := NewRunner(NewAuthIndex())
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for seq := uint64(1); seq <= n; seq++ {
		wg.Go(func() { errs <- r.WaitFor(ctx, seq) })
	}
	for seq := uint64(1); seq <= n; seq++ {
		ev := domain.NewEvent("e", "t", domain.AggOrg, "o", domain.Meta{}, domain.OrgCreated{OrgID: "t", Name: "acme"})
		ev.Seq = seq
		if err := r.Apply(ev); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched() // let waiters in between events
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// batchProjections are the projections that fold runs of events under one
// lock (BatchApplier), with one that folds event by event among them.
func batchProjections() []Applier {
	return []Applier{NewKeys(), NewAuthIndex(), NewClaims(), NewAudit(),
		NewExpiry([]domain.NoticeWindow{domain.NoticeWindow(7 * 24 * time.Hour)}), NewKeyIndex()}
}

// Folding runs of events must leave every projection as folding them one
// by one does, whatever the runs' lengths, and a run that starts with
// events already applied folds only the rest.
func TestApplyAllFoldsAsApplyDoes(t *testing.T) {
	evs := richTrail(t)
	one := NewRunner(batchProjections()...)
	for _, ev := range evs {
		if err := one.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	_, want, err := one.Digests()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 2, 3, 5, len(evs)} {
		runs := NewRunner(batchProjections()...)
		for i := 0; i < len(evs); i += size {
			from := max(0, i-1) // each run repeats the event before it
			if err := runs.ApplyAll(slices.Clone(evs[from:min(i+size, len(evs))])); err != nil {
				t.Fatalf("runs of %d: %v", size, err)
			}
		}
		seq, got, err := runs.Digests()
		if err != nil {
			t.Fatal(err)
		}
		if seq != evs[len(evs)-1].Seq || !maps.Equal(got, want) {
			t.Errorf("runs of %d: at %d\n%v\nwant\n%v", size, seq, got, want)
		}
	}
}

// A run with an event a projection cannot fold quarantines it, naming the
// projection and the event, and folds the rest of the run.
func TestApplyAllQuarantinesTheEventAProjectionRefuses(t *testing.T) {
	evs := trail()[:5]
	bad := domain.NewEvent("x", "o1", domain.AggKey, "k7", domain.Meta{Time: t0},
		domain.KeyCreated{KeyID: "k7", Name: "bad", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: "not hex"})
	bad.Seq = 4
	evs[3] = bad
	r := NewRunner(NewKeys(), NewAuthIndex())
	if err := r.ApplyAll(evs); err != nil {
		t.Fatal(err)
	}
	want := []Poisoned{{Seq: 4, Subject: "kp.o1.key.k7", Cause: "refused by projection *projections.Keys"}}
	if got := r.Quarantine().Events(); !slices.Equal(got, want) {
		t.Fatalf("quarantined %+v, want %+v", got, want)
	}
	if r.Applied() != 5 {
		t.Fatalf("applied %d, want the whole run (5)", r.Applied())
	}
}
