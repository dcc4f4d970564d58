// Package storetest is the conformance suite of eventlog.Store: what the
// command layer relies on of any log it runs on. A store passes it with
//
//	storetest.Run(t, func(t *testing.T) eventlog.Store { ... a fresh, empty store ... })
//
// eventlog runs it against its embedded JetStream.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Run runs every case of the suite, each on a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) eventlog.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, s eventlog.Store)
}{
	{"an append with the subject's last sequence is stored after it", appendAfterLast},
	{"an append with a stale sequence is a conflict and stores nothing", staleIsConflict},
	{"create-if-absent stores the first and refuses the second", createIfAbsent},
	{"the appends of one command are stored all or none", allOrNothing},
	{"a retried append of the same event is stored once", idempotentRetry},
	{"concurrent commands on distinct subjects all succeed; a stale one fails alone", concurrentCommands},
	{"commit answers once the projections hold its last event", commitWaits},
	{"execute decides again after a conflict, on the caught-up state", executeRetries},
	{"after a refused create, await last waits for the winner", awaitLastWaitsForTheWinner},
}

// event is an event of user aggregate agg.
func event(id, agg string) domain.Event {
	return domain.NewEvent(id, domain.SystemTenant, domain.AggUser, agg, domain.Meta{Time: time.Now().UTC()},
		domain.SessionsRevoked{User: agg, Before: time.Now().UTC()})
}

func appendAt(id, agg string, expect uint64) eventlog.Append {
	return eventlog.Append{Event: event(id, agg), Expect: expect}
}

func mustAppend(t *testing.T, s eventlog.Store, apps ...eventlog.Append) []uint64 {
	t.Helper()
	seqs, err := s.Append(context.Background(), apps...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if len(seqs) != len(apps) {
		t.Fatalf("%d sequences for %d appends", len(seqs), len(apps))
	}
	return seqs
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	if !domain.IsKind(err, domain.KindConflict) {
		t.Fatalf("err %v, want a conflict (domain.ErrConflict)", err)
	}
}

// lastOf is the sequence of agg's last event (0: none), read the way a
// command settles a refusal.
func lastOf(t *testing.T, s eventlog.Store, agg string) uint64 {
	t.Helper()
	ev, err := s.LastSettled(context.Background(), eventlog.Subject(event("", agg)))
	if err != nil {
		t.Fatal(err)
	}
	if ev == nil {
		return 0
	}
	return ev.Seq
}

func appendAfterLast(t *testing.T, s eventlog.Store) {
	first := mustAppend(t, s, appendAt("e1", "a", 0))
	second := mustAppend(t, s, appendAt("e2", "a", first[0]))
	if second[0] <= first[0] || lastOf(t, s, "a") != second[0] {
		t.Fatalf("stored at %d then %d; last %d", first[0], second[0], lastOf(t, s, "a"))
	}
	// AnySeq skips the check.
	third := mustAppend(t, s, eventlog.Append{Event: event("e3", "a"), AnySeq: true})
	if third[0] <= second[0] {
		t.Fatalf("stored at %d after %d", third[0], second[0])
	}
}

func staleIsConflict(t *testing.T, s eventlog.Store) {
	first := mustAppend(t, s, appendAt("e1", "a", 0))
	mustAppend(t, s, appendAt("e2", "a", first[0]))
	_, err := s.Append(context.Background(), appendAt("e3", "a", first[0]))
	wantConflict(t, err)
	_, err = s.Append(context.Background(), appendAt("e4", "a", first[0]+100))
	wantConflict(t, err)
	if last := lastOf(t, s, "a"); last != first[0]+1 {
		t.Fatalf("last %d: a refused append was stored", last)
	}
}

func createIfAbsent(t *testing.T, s eventlog.Store) {
	won := mustAppend(t, s, appendAt("e1", "a", 0))
	_, err := s.Append(context.Background(), appendAt("e2", "a", 0))
	wantConflict(t, err)
	if lastOf(t, s, "a") != won[0] {
		t.Fatal("the second create replaced the first")
	}
}

func allOrNothing(t *testing.T, s eventlog.Store) {
	taken := mustAppend(t, s, appendAt("e1", "taken", 0))
	_, err := s.Append(context.Background(), appendAt("e2", "fresh-1", 0), appendAt("e3", "fresh-2", 0), appendAt("e4", "taken", 0))
	wantConflict(t, err)
	// Nothing of the refused command was stored: its subjects are still
	// empty, so a create on each succeeds.
	mustAppend(t, s, appendAt("e5", "fresh-1", 0), appendAt("e6", "fresh-2", 0))
	seqs := mustAppend(t, s, appendAt("e7", "x", 0), appendAt("e8", "y", 0), appendAt("e9", "taken", taken[0]))
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("one command stored at %v: not one run", seqs)
		}
	}
}

func idempotentRetry(t *testing.T, s eventlog.Store) {
	a := appendAt("same-id", "a", 0)
	first := mustAppend(t, s, a)
	again := mustAppend(t, s, a)
	if again[0] != first[0] {
		t.Fatalf("the retry was stored at %d, the first at %d", again[0], first[0])
	}
	// One event only: the next expects the first's sequence.
	mustAppend(t, s, appendAt("next", "a", first[0]))
}

func concurrentCommands(t *testing.T, s eventlog.Store) {
	mustAppend(t, s, appendAt("e0", "stale", 0))
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := appendAt(fmt.Sprintf("c%d", i), fmt.Sprintf("agg-%d", i), 0)
			if i == n/2 {
				a = appendAt("c-stale", "stale", 0) // taken: this one must fail
			}
			_, errs[i] = s.Append(context.Background(), a)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == n/2 {
			wantConflict(t, err)
		} else if err != nil {
			t.Fatalf("command %d failed: %v", i, err)
		}
	}
}

// waiter records what it was asked to wait for.
type waiter struct {
	mu   sync.Mutex
	seqs []uint64
}

func (w *waiter) WaitFor(_ context.Context, seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seqs = append(w.seqs, seq)
	return nil
}

func (w *waiter) last() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seqs) == 0 {
		return 0
	}
	return w.seqs[len(w.seqs)-1]
}

func commitWaits(t *testing.T, s eventlog.Store) {
	w := &waiter{}
	seqs, err := s.Commit(context.Background(), w, appendAt("e1", "a", 0), appendAt("e2", "b", 0))
	if err != nil {
		t.Fatal(err)
	}
	if w.last() != seqs[1] {
		t.Fatalf("waited for %v, want the last of %v", w.seqs, seqs)
	}
}

func executeRetries(t *testing.T, s eventlog.Store) {
	first := mustAppend(t, s, appendAt("e1", "a", 0))
	second := mustAppend(t, s, appendAt("e2", "a", first[0]))
	w := &waiter{}
	var decided []uint64
	seqs, err := s.Execute(context.Background(), w, func() ([]eventlog.Append, error) {
		// The first decision sees the state before the second event; the
		// next one sees what the store caught the projections up to.
		expect := first[0]
		if len(decided) > 0 {
			expect = w.last()
		}
		decided = append(decided, expect)
		return []eventlog.Append{appendAt(fmt.Sprintf("x%d", len(decided)), "a", expect)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(decided) != 2 || decided[1] != second[0] || w.last() != seqs[0] {
		t.Fatalf("decided on %v (want %d then %d), waited for %v, stored at %v", decided, first[0], second[0], w.seqs, seqs)
	}
}

func awaitLastWaitsForTheWinner(t *testing.T, s eventlog.Store) {
	won := mustAppend(t, s, appendAt("e1", "a", 0))
	lost := appendAt("e2", "a", 0)
	_, err := s.Append(context.Background(), lost)
	wantConflict(t, err)
	w := &waiter{}
	if err := s.AwaitLast(context.Background(), w, eventlog.Subject(lost.Event)); err != nil {
		t.Fatal(err)
	}
	if w.last() != won[0] {
		t.Fatalf("waited for %v, want %d", w.seqs, won[0])
	}
}
