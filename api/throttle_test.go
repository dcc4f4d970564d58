package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	type attempt struct {
		name, addr string
		at         time.Duration // after t0
		ok         bool          // the password was right
		want       domain.Kind   // KindInternal: let through
	}
	fail := func(name, addr string, at time.Duration) attempt {
		return attempt{name, addr, at, false, domain.KindInternal}
	}
	many := func(n int, name func(int) string, addr string) []attempt {
		var out []attempt
		for i := 0; i < n; i++ {
			out = append(out, fail(name(i), addr, 0))
		}
		return out
	}
	same := func(int) string { return "alice" }
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"five failures are free", append(many(5, same, "10.0.0.1"),
			attempt{"alice", "10.0.0.1", 0, true, domain.KindInternal})},
		{"the sixth locks for a second, the right password included", append(many(6, same, "10.0.0.1"),
			attempt{"alice", "10.0.0.1", 0, true, domain.KindThrottled},
			attempt{"alice", "10.0.0.1", 1001 * time.Millisecond, true, domain.KindInternal})},
		{"locks double", append(many(6, same, "10.0.0.1"),
			fail("alice", "10.0.0.1", 1100*time.Millisecond),
			attempt{"alice", "10.0.0.1", 2 * time.Second, true, domain.KindThrottled},
			attempt{"alice", "10.0.0.1", 3200 * time.Millisecond, true, domain.KindInternal})},
		{"another address is not locked out by one guesser", append(many(6, same, "10.0.0.1"),
			attempt{"alice", "10.0.0.2", 0, true, domain.KindInternal})},
		{"a spray across names locks the address", append(many(51, func(i int) string { return fmt.Sprint("user", i) }, "10.0.0.9"),
			attempt{"bob", "10.0.0.9", 0, true, domain.KindThrottled},
			attempt{"bob", "10.0.0.3", 0, true, domain.KindInternal})},
		{"a guess spread over addresses locks the name", append(func() []attempt {
			var out []attempt
			for i := 0; i < 201; i++ {
				out = append(out, fail("carol", fmt.Sprint("10.1.", i/250, ".", i%250), 0))
			}
			return out
		}(), attempt{"carol", "10.9.9.9", 0, true, domain.KindThrottled})},
		{"failures are forgotten after an hour", append(many(5, same, "10.0.0.1"),
			fail("alice", "10.0.0.1", 2*time.Hour),
			attempt{"alice", "10.0.0.1", 2 * time.Hour, true, domain.KindInternal})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newThrottle()
			for i, a := range tt.attempts {
				now := t0.Add(a.at)
				release, err := th.check(a.name, a.addr, now)
				switch {
				case err == nil && a.want == domain.KindThrottled:
					t.Fatalf("attempt %d (%s from %s) let through, want throttled", i, a.name, a.addr)
				case err != nil && a.want != domain.KindThrottled:
					t.Fatalf("attempt %d (%s from %s): %v, want let through", i, a.name, a.addr, err)
				case err != nil:
					continue
				}
				if a.ok {
					th.succeeded(a.name, a.addr)
				} else {
					th.failed(a.name, a.addr, now)
				}
				release()
			}
		})
	}
}

func TestThrottleRetryAfter(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	for i := 0; i < freePair+3; i++ {
		th.failed("alice", "10.0.0.1", now)
	}
	_, err := th.check("alice", "10.0.0.1", now)
	if domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("check = %v, want throttled", err)
	}
	if got := retryAfterSeconds(err); got != 4 {
		t.Fatalf("Retry-After %d s after 3 failures over the free ones, want 4", got)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	for i := 0; i < maxTracked; i++ {
		th.failed(fmt.Sprint("u", i), "10.0.0.1", now.Add(-2*time.Hour))
	}
	th.failed("late", "10.0.0.2", now)
	if len(th.keys) > maxTracked {
		t.Fatalf("%d keys tracked, want at most %d", len(th.keys), maxTracked)
	}
}

// A name no login can have is not kept: a Basic header can carry a
// megabyte of it.
func TestThrottleInvalidNames(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	for i := 0; i <= freePair; i++ {
		th.failed(fmt.Sprint(i, strings.Repeat("x", 1<<20)), "10.0.0.1", now)
	}
	for k := range th.keys {
		if len(k) > 100 {
			t.Fatalf("throttle keeps a key of %d bytes", len(k))
		}
	}
	if _, err := th.check("y"+strings.Repeat("x", 1<<20), "10.0.0.1", now); domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("check after %d invalid names = %v, want throttled", freePair+1, err)
	}
	if _, err := th.check("alice", "10.0.0.1", now); err != nil {
		t.Fatalf("a valid name from the same address: %v, want let through", err)
	}
}

// Once a key has used its free failures, its attempts are checked one at a
// time: otherwise a burst of concurrent guesses would all pass the check
// before the first of them failed and locked the key.
func TestThrottleConcurrentAttempts(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	for i := 0; i < freePair; i++ {
		th.failed("alice", "10.0.0.1", now)
	}
	release, err := th.check("alice", "10.0.0.1", now)
	if err != nil {
		t.Fatalf("first attempt after the free failures: %v, want let through", err)
	}
	if _, err := th.check("alice", "10.0.0.1", now); domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("a second attempt while the first is checked: %v, want throttled", err)
	}
	if _, err := th.check("alice", "10.0.0.2", now); err != nil {
		t.Fatalf("another address meanwhile: %v, want let through", err)
	}
	release()
	if _, err := th.check("alice", "10.0.0.1", now); err != nil {
		t.Fatalf("an attempt after the first ended: %v, want let through", err)
	}
	// An attempt that began below the free count holds nothing; when it
	// ends it must not free the key a later attempt holds.
	th = newThrottle()
	for i := 0; i < freePair-1; i++ {
		th.failed("carol", "10.0.0.1", now)
	}
	early, err := th.check("carol", "10.0.0.1", now)
	if err != nil {
		t.Fatal(err)
	}
	th.failed("carol", "10.0.0.1", now) // another attempt's failure reaches the free count
	if _, err := th.check("carol", "10.0.0.1", now); err != nil {
		t.Fatalf("the attempt at the free count: %v, want let through", err)
	}
	early()
	if _, err := th.check("carol", "10.0.0.1", now); domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("an earlier attempt's end freed the key another holds: %v, want throttled", err)
	}
	// Below the free failures, concurrent attempts (a script's parallel
	// Basic requests) all pass.
	th = newThrottle()
	for i := 0; i < 2*freePair; i++ {
		if _, err := th.check("bob", "10.0.0.1", now); err != nil {
			t.Fatalf("concurrent attempt %d without failures: %v", i, err)
		}
	}
}
