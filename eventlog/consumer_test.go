package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testwait"
)

func noticeEvent(id string) domain.Event {
	return domain.NewEvent(id, "t1", domain.AggNotice, id, domain.Meta{Time: time.Now()}, domain.NoticeCanceled{Reason: id})
}

// consumed records what a consumer's handlers saw.
type consumed struct {
	mu       sync.Mutex
	attempts map[string][]int // event id -> attempts seen
	by       map[string]int   // event id -> deliveries per worker
}

func (c *consumed) see(worker int, d Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts[d.Event.ID] = append(c.attempts[d.Event.ID], d.Attempt)
	c.by[fmt.Sprint(d.Event.ID, "/", worker)]++
}

func (c *consumed) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.attempts)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, what, cond)
}

func TestConsumeSharesOneDurableAcrossProcesses(t *testing.T) {
	l := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Events of other aggregates are not the consumer's business.
	if _, err := l.Append(ctx, Append{Event: keyEvent("k", "k1", domain.KeyInvalidated{}), Expect: 0}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := 0; i < n; i++ {
		if _, err := l.Append(ctx, Append{Event: noticeEvent(fmt.Sprint("n", i)), Expect: 0}); err != nil {
			t.Fatal(err)
		}
	}
	seen := &consumed{attempts: map[string][]int{}, by: map[string]int{}}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			_ = l.Consume(ctx, Consumer{Durable: "test", Filter: AggSubjects(domain.AggNotice)}, func(_ context.Context, d Delivery) error {
				if d.Event.AggType != domain.AggNotice {
					t.Errorf("got a %s event", d.Event.AggType)
				}
				seen.see(w, d)
				return nil
			})
		}(w)
	}
	waitFor(t, "every event consumed", func() bool { return seen.count() == n })
	cancel()
	wg.Wait()
	for id, a := range seen.attempts {
		if len(a) != 1 || a[0] != 1 {
			t.Errorf("%s delivered at attempts %v, want once", id, a)
		}
	}
}

func TestConsumeRedeliversWithBackoffUntilHandled(t *testing.T) {
	l := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := l.Append(ctx, Append{Event: noticeEvent("flaky"), Expect: 0}); err != nil {
		t.Fatal(err)
	}
	seen := &consumed{attempts: map[string][]int{}, by: map[string]int{}}
	c := Consumer{Durable: "retry", Filter: AggSubjects(domain.AggNotice), Backoff: ExponentialBackoff(10*time.Millisecond, 40*time.Millisecond)}
	done := make(chan error, 1)
	go func() {
		done <- l.Consume(ctx, c, func(_ context.Context, d Delivery) error {
			seen.see(0, d)
			if d.Attempt < 3 {
				return errors.New("mail server down")
			}
			return nil
		})
	}()
	waitFor(t, "the third attempt", func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return len(seen.attempts["flaky"]) == 3
	})
	// Acknowledged after the third: a second consumer process finds nothing.
	cancel()
	<-done
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	_ = l.Consume(ctx2, c, func(_ context.Context, d Delivery) error { seen.see(1, d); return nil })
	if got := seen.attempts["flaky"]; fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("attempts %v, want [1 2 3]", got)
	}
}

func TestConsumeResumesAfterARestart(t *testing.T) {
	l := openTest(t)
	seen := &consumed{attempts: map[string][]int{}, by: map[string]int{}}
	c := Consumer{Durable: "resume", Filter: AggSubjects(domain.AggNotice), AckWait: time.Second}
	for i := 0; i < 3; i++ {
		if _, err := l.Append(context.Background(), Append{Event: noticeEvent(fmt.Sprint("r", i)), Expect: 0}); err != nil {
			t.Fatal(err)
		}
	}
	// The first process handles r0, then dies while handling r1.
	ctx, cancel := context.WithCancel(context.Background())
	_ = l.Consume(ctx, c, func(_ context.Context, d Delivery) error {
		seen.see(0, d)
		if d.Event.ID == "r1" {
			cancel()
		}
		return nil
	})
	// The next one gets r1 again and r2, never r0.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() {
		_ = l.Consume(ctx2, c, func(_ context.Context, d Delivery) error { seen.see(1, d); return nil })
	}()
	waitFor(t, "r2 after the restart", func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return len(seen.attempts) == 3 && len(seen.attempts["r1"]) == 2
	})
	cancel2()
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if seen.by["r0/1"] != 0 || seen.by["r1/1"] != 1 || fmt.Sprint(seen.attempts["r1"]) != "[1 2]" {
		t.Fatalf("after restart: %v %v", seen.by, seen.attempts)
	}
}
