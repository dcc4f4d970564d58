package clustertest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// burst is concurrent clients creating keys with Idempotency-Keys against
// several replicas. A client whose request failed (no answer, or any
// status but 201) retries the same request against the next replica until
// it is acknowledged: what a client of a load-balanced keyplane does.
type burst struct {
	urls    []string
	prefix  string
	n       int // keys to create
	workers int

	// kill, if set, runs in the background (the acknowledging worker goes
	// on) when the killAt-th command is acknowledged; killedAt is when it
	// returned, the process dead, so that what is acknowledged after it was
	// served without the victim. run waits for it.
	kill     func()
	killAt   int64
	killedAt time.Time
	killing  sync.WaitGroup

	mu       sync.Mutex
	acked    map[string]key
	ackTimes []time.Time
	acks     atomic.Int64
	retries  atomic.Int64
	status   sync.Map // status code -> *atomic.Int64 (failed attempts)
	// twice lists names acknowledged twice with different keys: an
	// Idempotency-Key that did not hold.
	twice []string
}

// run creates the keys and returns when every one was acknowledged or ctx
// ended.
func (b *burst) run(ctx context.Context) {
	b.acked = map[string]key{}
	names := make(chan string, b.n)
	for i := range b.n {
		names <- keyName(b.prefix, i)
	}
	close(names)
	var wg sync.WaitGroup
	for w := range b.workers {
		wg.Go(func() {
			next := w
			for name := range names {
				next = b.createUntilAcked(ctx, name, next)
			}
		})
	}
	wg.Wait()
	b.killing.Wait()
}

func (b *burst) createUntilAcked(ctx context.Context, name string, next int) int {
	for ctx.Err() == nil {
		url := b.urls[next%len(b.urls)]
		k, a, err := create(ctx, url, name)
		if err == nil && a.status == http.StatusCreated && k.id != "" && k.encoded != "" {
			b.ack(k)
			return next
		}
		b.retries.Add(1)
		code := 0
		if err == nil {
			code = a.status
		}
		c, _ := b.status.LoadOrStore(code, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		next++ // another replica
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return next
}

func (b *burst) ack(k key) {
	b.mu.Lock()
	prev, seen := b.acked[k.name]
	b.acked[k.name] = k
	b.ackTimes = append(b.ackTimes, time.Now())
	if seen && (prev.id != k.id || prev.encoded != k.encoded) {
		b.twice = append(b.twice, k.name)
	}
	b.mu.Unlock()
	if n := b.acks.Add(1); b.kill != nil && n == b.killAt {
		b.killing.Go(func() {
			b.kill()
			b.killedAt = time.Now()
		})
	}
}

// check fails the test if the burst did not get every key acknowledged,
// or got one acknowledged as two different keys.
func (b *burst) check(t testing.TB) {
	t.Helper()
	if len(b.acked) != b.n {
		t.Fatalf("%d of %d creates acknowledged (failures by status, 0 = no answer: %v)", len(b.acked), b.n, b.failures())
	}
	if len(b.twice) > 0 {
		t.Fatalf("acknowledged as two different keys: %v", b.twice)
	}
}

// failures summarises failed attempts by status (0: no answer).
func (b *burst) failures() map[int]int64 {
	out := map[int]int64{}
	b.status.Range(func(k, v any) bool {
		out[k.(int)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// longestStall is the longest time between two acknowledgements after at:
// how long commands stopped while the cluster recovered.
func (b *burst) longestStall(at time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var longest time.Duration
	prev := at
	for _, t := range b.ackTimes {
		if t.Before(at) {
			continue
		}
		longest = max(longest, t.Sub(prev))
		prev = t
	}
	return longest
}

// ackedAfter counts acknowledgements after at.
func (b *burst) ackedAfter(at time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, t := range b.ackTimes {
		if t.After(at) {
			n++
		}
	}
	return n
}
