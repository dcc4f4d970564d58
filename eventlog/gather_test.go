package eventlog

import (
	"testing"
	"time"
)

// TestGatherWaitsForTheClientsOfTheLastRound checks who a round waits for.
// Patience is an hour, so a gather that waited when it should not would
// hang the test rather than pass slowly.
func TestGatherWaitsForTheClientsOfTheLastRound(t *testing.T) {
	end := time.Now()
	before, after := end.Add(-time.Millisecond), end.Add(time.Millisecond)
	for _, tc := range []struct {
		name      string
		lastRound int
		queued    []time.Time // when each queued command arrived
		late      int         // commands that arrive while gather waits
		want      int
	}{
		{name: "a lone client never waits", lastRound: 1, queued: []time.Time{after}, want: 1},
		{name: "the first round never waits", lastRound: 0, queued: []time.Time{after}, want: 1},
		{name: "everyone back already", lastRound: 3, queued: []time.Time{after, after, after}, want: 3},
		{name: "waits for the last round's clients", lastRound: 3, queued: []time.Time{after}, late: 2, want: 3},
		{name: "counts those that waited through the commit", lastRound: 2, queued: []time.Time{before, before, after}, late: 1, want: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &committer{in: make(chan *request, 16), stop: make(chan struct{})}
			var carry []*request
			for _, at := range tc.queued {
				r := req()
				r.at = at
				carry = append(carry, r)
			}
			go func() {
				for range tc.late {
					r := req()
					r.at = after
					c.in <- r
				}
			}()
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			got := make(chan int, 1)
			go func() { got <- len(c.gather(carry, tc.lastRound, end, time.Hour, timer)) }()
			select {
			case n := <-got:
				if n != tc.want {
					t.Fatalf("gathered %d commands, want %d", n, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("gather waited for commands that were never coming")
			}
		})
	}
}

// TestGatherGivesUpAfterItsPatience: a client of the last round that does
// not come back holds the round up no longer than the patience given.
func TestGatherGivesUpAfterItsPatience(t *testing.T) {
	c := &committer{in: make(chan *request, 1), stop: make(chan struct{})}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	r := req()
	r.at = time.Now()
	if got := c.gather([]*request{r}, 5, time.Now().Add(-time.Second), time.Millisecond, timer); len(got) != 1 {
		t.Fatalf("gathered %d, want the 1 queued", len(got))
	}
}

func TestGatherWaitIsAQuarterOfTheCommitBounded(t *testing.T) {
	for _, tc := range []struct{ cost, want time.Duration }{
		{0, 0},
		{400 * time.Microsecond, 100 * time.Microsecond},
		{time.Second, maxGatherWait},
	} {
		if got := gatherWait(tc.cost); got != tc.want {
			t.Errorf("gatherWait(%v) = %v, want %v", tc.cost, got, tc.want)
		}
	}
}
