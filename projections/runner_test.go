package projections

import (
	"context"
	"runtime"
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
