package authn

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// throttleStores are the stores the throttle runs on: the log's bucket
// (an embedded JetStream in a temporary directory) and the in-process one
// of a Server built without a log.
func throttleStores(t *testing.T) map[string]Counters {
	t.Helper()
	return map[string]Counters{"jetstream": jetstreamCounters(t), "memory": newMemCounters()}
}

func jetstreamCounters(t testing.TB) *eventlog.Counters {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	c, err := l.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newTestThrottle is one replica's throttle on store, with keys of its
// own (a fresh secret) unless mac is given.
func newTestThrottle(store Counters, mac ...byte) *throttle {
	if mac == nil {
		mac = make([]byte, 32)
		_, _ = rand.Read(mac)
	}
	return newThrottle(store, mac)
}

// try runs one attempt: ok is whether the password was right.
func (t *throttle) try(who Subject, addr string, now time.Time, ok bool) error {
	ctx := context.Background()
	a, err := t.begin(ctx, who, addr, now)
	if err != nil {
		return err
	}
	if ok {
		a.succeeded(ctx)
	} else {
		a.failed(ctx)
	}
	return nil
}

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	type attempt struct {
		who  Subject
		addr string
		at   time.Duration // after t0
		ok   bool          // the password was right
		want domain.Kind   // KindInternal: let through
	}
	alice := MemberSubject("alice")
	fail := func(who Subject, addr string, at time.Duration) attempt {
		return attempt{who, addr, at, false, domain.KindInternal}
	}
	right := func(who Subject, addr string, at time.Duration, want domain.Kind) attempt {
		return attempt{who, addr, at, true, want}
	}
	many := func(n int, who func(int) Subject, addr string) []attempt {
		var out []attempt
		for i := 0; i < n; i++ {
			out = append(out, fail(who(i), addr, 0))
		}
		return out
	}
	same := func(who Subject) func(int) Subject { return func(int) Subject { return who } }
	jane1 := ProjectUserSubject("t1", "p1", "jane")
	jane2 := ProjectUserSubject("t1", "p2", "jane")
	janeOtherOrg := ProjectUserSubject("t2", "p1", "jane")
	janeMember := MemberSubject("jane")
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"five failures are free", append(many(5, same(alice), "10.0.0.1"),
			right(alice, "10.0.0.1", 0, domain.KindInternal))},
		{"the sixth locks for a second, the right password included", append(many(6, same(alice), "10.0.0.1"),
			right(alice, "10.0.0.1", 0, domain.KindThrottled),
			right(alice, "10.0.0.1", 1001*time.Millisecond, domain.KindInternal))},
		{"locks double", append(many(6, same(alice), "10.0.0.1"),
			fail(alice, "10.0.0.1", 1100*time.Millisecond),
			right(alice, "10.0.0.1", 2*time.Second, domain.KindThrottled),
			right(alice, "10.0.0.1", 3200*time.Millisecond, domain.KindInternal))},
		{"another address is not locked out by one guesser", append(many(6, same(alice), "10.0.0.1"),
			right(alice, "10.0.0.2", 0, domain.KindInternal))},
		{"a spray across names locks the address", append(many(51, func(i int) Subject { return MemberSubject(fmt.Sprint("user", i)) }, "10.0.0.9"),
			right(MemberSubject("bob"), "10.0.0.9", 0, domain.KindThrottled),
			right(MemberSubject("bob"), "10.0.0.3", 0, domain.KindInternal))},
		{"a spray across realms and projects locks the address", append(many(51, func(i int) Subject {
			return ProjectUserSubject("t1", domain.ProjectID(fmt.Sprint("p", i)), "jane")
		}, "10.0.0.9"), right(alice, "10.0.0.9", 0, domain.KindThrottled))},
		{"a guess spread over addresses locks the principal", append(func() []attempt {
			var out []attempt
			for i := 0; i < 201; i++ {
				out = append(out, fail(MemberSubject("carol"), fmt.Sprint("10.1.", i/250, ".", i%250), 0))
			}
			return out
		}(), right(MemberSubject("carol"), "10.9.9.9", 0, domain.KindThrottled))},
		{"an IPv6 client's /64 is one address", append(many(6, func(i int) Subject { return alice }, "2001:db8::1"),
			right(alice, "2001:db8::ffff:1", 0, domain.KindThrottled),
			right(alice, "2001:db8:0:1::1", 0, domain.KindInternal))},
		{"failures are forgotten after an hour", append(many(5, same(alice), "10.0.0.1"),
			fail(alice, "10.0.0.1", 2*time.Hour),
			right(alice, "10.0.0.1", 2*time.Hour, domain.KindInternal))},

		// One principal's success never clears another's counts.
		{"a same-named user of another project does not clear the victim's counts", append(many(5, same(jane1), "10.0.0.1"),
			right(jane2, "10.0.0.1", 0, domain.KindInternal),
			fail(jane1, "10.0.0.1", 0),
			right(jane1, "10.0.0.1", 0, domain.KindThrottled))},
		{"a member of the same name does not clear a project user's counts", append(many(5, same(jane1), "10.0.0.1"),
			right(janeMember, "10.0.0.1", 0, domain.KindInternal),
			fail(jane1, "10.0.0.1", 0),
			right(jane1, "10.0.0.1", 0, domain.KindThrottled))},
		{"a project user of the same name does not clear a member's counts", append(many(5, same(janeMember), "10.0.0.1"),
			right(jane1, "10.0.0.1", 0, domain.KindInternal),
			fail(janeMember, "10.0.0.1", 0),
			right(janeMember, "10.0.0.1", 0, domain.KindThrottled))},
		{"a same-named principal's success from anywhere does not clear the victim's count from anywhere", append(func() []attempt {
			var out []attempt
			for i := 0; i < 200; i++ {
				out = append(out, fail(jane1, fmt.Sprint("10.2.", i/250, ".", i%250), 0))
			}
			return out
		}(), right(jane2, "10.9.9.8", 0, domain.KindInternal),
			fail(jane1, "10.9.9.7", 0),
			right(jane1, "10.9.9.9", 0, domain.KindThrottled))},

		// Counts are per realm, organization and project.
		{"a project user's lock does not lock the same name in another project", append(many(6, same(jane1), "10.0.0.1"),
			right(jane1, "10.0.0.1", 0, domain.KindThrottled),
			right(jane2, "10.0.0.1", 0, domain.KindInternal),
			right(janeOtherOrg, "10.0.0.1", 0, domain.KindInternal),
			right(janeMember, "10.0.0.1", 0, domain.KindInternal))},
		{"a member's lock does not lock a project user of the same name", append(many(6, same(janeMember), "10.0.0.1"),
			right(janeMember, "10.0.0.1", 0, domain.KindThrottled),
			right(jane1, "10.0.0.1", 0, domain.KindInternal))},
	}
	for store, c := range throttleStores(t) {
		for _, tt := range tests {
			t.Run(store+"/"+tt.name, func(t *testing.T) {
				th := newTestThrottle(c)
				for i, a := range tt.attempts {
					err := th.try(a.who, a.addr, t0.Add(a.at), a.ok)
					switch {
					case err == nil && a.want == domain.KindThrottled:
						t.Fatalf("attempt %d (%+v from %s) let through, want throttled", i, a.who, a.addr)
					case err != nil && a.want != domain.KindThrottled:
						t.Fatalf("attempt %d (%+v from %s): %v, want let through", i, a.who, a.addr, err)
					}
				}
			})
		}
	}
}

func TestThrottleRetryAfter(t *testing.T) {
	th := newTestThrottle(newMemCounters())
	now := time.Now()
	for i := 0; i < freePair+3; i++ {
		if err := th.try(MemberSubject("alice"), "10.0.0.1", now.Add(time.Duration(i)*time.Hour/100), false); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Duration(freePair+2) * time.Hour / 100)
	err := th.try(MemberSubject("alice"), "10.0.0.1", now, true)
	if domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("check = %v, want throttled", err)
	}
	if got := retryAfterSeconds(err); got != 4 {
		t.Fatalf("Retry-After %d s after 3 failures over the free ones, want 4", got)
	}
}

// What one replica keeps in memory is bounded: the locks of its fast
// path, and the in-process store's keys.
func TestThrottleBounded(t *testing.T) {
	c := newMemCounters()
	th := newTestThrottle(c)
	now := time.Now()
	for i := 0; i < maxTracked; i++ {
		th.locked[fmt.Sprint("n.", i)] = now.Add(-time.Second)
		c.m[fmt.Sprint("n.", i)] = memCount{written: now.Add(-2 * time.Hour)}
	}
	for i := 0; i <= freePair; i++ {
		if err := th.try(MemberSubject("late"), "10.0.0.2", now, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(th.locked) > maxTracked || len(c.m) > maxTracked {
		t.Fatalf("%d locks and %d keys kept, want at most %d", len(th.locked), len(c.m), maxTracked)
	}
	if err := th.try(MemberSubject("late"), "10.0.0.2", now, true); domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("after pruning: %v, want throttled", err)
	}
}

// The store's keys name nothing: neither a user name nor an address is in
// them, and a name no login can have is not kept (a Basic header can carry
// a megabyte of it).
func TestThrottleKeysAreHashes(t *testing.T) {
	c := newMemCounters()
	th := newTestThrottle(c)
	now := time.Now()
	for i := 0; i <= freePair; i++ {
		if err := th.try(MemberSubject(fmt.Sprint(i, strings.Repeat("x", 1<<20))), "10.0.0.1", now, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := th.try(ProjectUserSubject("t1", "p1", "jane"), "10.0.0.1", now, false); err != nil {
		t.Fatal(err)
	}
	if len(c.m) != 5 {
		t.Fatalf("%d keys, want 5: one pair and one principal for the invalid names and for jane, one address", len(c.m))
	}
	for k, e := range c.m {
		if len(k) != 2+64 || strings.Contains(k, "jane") || strings.Contains(k, "10.0.0.1") ||
			strings.Contains(string(e.v), "jane") || strings.Contains(string(e.v), "10.0.0.1") {
			t.Fatalf("store key %q = %s", k, e.v)
		}
	}
	if err := th.try(MemberSubject("y"+strings.Repeat("x", 1<<20)), "10.0.0.1", now, true); domain.KindOf(err) != domain.KindThrottled {
		t.Fatalf("check after %d invalid names = %v, want throttled", freePair+1, err)
	}
	if err := th.try(MemberSubject("alice"), "10.0.0.1", now, true); err != nil {
		t.Fatalf("a valid name from the same address: %v, want let through", err)
	}
}

// Once a key has used its free failures, its attempts are checked one at a
// time, on any replica: otherwise a burst of concurrent guesses would all
// pass the check before the first of them failed and locked the key.
func TestThrottleConcurrentAttempts(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	alice := MemberSubject("alice")
	for store, c := range throttleStores(t) {
		t.Run(store, func(t *testing.T) {
			mac := []byte(t.Name())
			one, two := newTestThrottle(c, mac...), newTestThrottle(c, mac...) // two replicas
			for i := 0; i < freePair; i++ {
				_ = one.try(alice, "10.0.0.1", now, false)
			}
			first, err := one.begin(ctx, alice, "10.0.0.1", now)
			if err != nil {
				t.Fatalf("first attempt after the free failures: %v, want let through", err)
			}
			if _, err := two.begin(ctx, alice, "10.0.0.1", now); domain.KindOf(err) != domain.KindThrottled {
				t.Fatalf("a second attempt on another replica while the first is checked: %v, want throttled", err)
			}
			if err := two.try(alice, "10.0.0.2", now, true); err != nil {
				t.Fatalf("another address meanwhile: %v, want let through", err)
			}
			first.abandon(ctx)
			if err := two.try(alice, "10.0.0.1", now, true); err != nil {
				t.Fatalf("an attempt after the first ended: %v, want let through", err)
			}

			// An attempt that began below the free count holds nothing; when
			// it ends it must not free the key a later attempt holds.
			carol := MemberSubject("carol")
			for i := 0; i < freePair-1; i++ {
				_ = one.try(carol, "10.0.0.1", now, false)
			}
			early, err := one.begin(ctx, carol, "10.0.0.1", now)
			if err != nil {
				t.Fatal(err)
			}
			_ = two.try(carol, "10.0.0.1", now, false) // another attempt's failure reaches the free count
			if _, err := two.begin(ctx, carol, "10.0.0.1", now); err != nil {
				t.Fatalf("the attempt at the free count: %v, want let through", err)
			}
			early.abandon(ctx)
			if _, err := one.begin(ctx, carol, "10.0.0.1", now); domain.KindOf(err) != domain.KindThrottled {
				t.Fatalf("an earlier attempt's end freed the key another holds: %v, want throttled", err)
			}

			// Below the free failures, concurrent attempts (a script's
			// parallel Basic requests) all pass.
			for i := 0; i < 2*freePair; i++ {
				if _, err := one.begin(ctx, MemberSubject("bob"), "10.0.0.1", now); err != nil {
					t.Fatalf("concurrent attempt %d without failures: %v", i, err)
				}
			}
		})
	}
}

// Failures counted at once on two replicas are all counted: the writes
// compare and swap, and retry on a conflict.
func TestThrottleCountsConcurrentFailuresOnTwoReplicas(t *testing.T) {
	c := jetstreamCounters(t)
	mac := []byte("shared secret")
	replicas := []*throttle{newTestThrottle(c, mac...), newTestThrottle(c, mac...)}
	now := time.Now()
	who := MemberSubject("dave")
	const n = 40 // from n addresses: below every free count but the principal's
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- replicas[i%2].try(who, fmt.Sprint("10.3.0.", i), now, false)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, _, err := c.Get(context.Background(), replicas[0].keys(who, "")[2].id)
	if err != nil {
		t.Fatal(err)
	}
	var rec record
	if err := json.Unmarshal(v, &rec); err != nil || rec.N != n {
		t.Fatalf("principal's count %s (%v), want %d failures", v, err, n)
	}
}

// A store that cannot be reached lets no guess through: the check answers
// 503 (unavailable) before any password is tested, and a replica that
// could not store a failure refuses checks for a while.
func TestThrottleFailsClosed(t *testing.T) {
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(cctx, eventlog.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Counters(cctx)
	if err != nil {
		t.Fatal(err)
	}
	th := newTestThrottle(c)
	now := time.Now()
	a, err := th.begin(ctx, MemberSubject("erin"), "10.0.0.1", now)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := a.failed(ctx); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("counting with the log closed: %v, want unavailable", err)
	}
	for _, who := range []Subject{MemberSubject("erin"), MemberSubject("frank")} {
		_, err := th.begin(ctx, who, "10.0.0.9", now.Add(time.Second))
		if domain.KindOf(err) != domain.KindUnavailable || retryAfterSeconds(err) != 4 {
			t.Fatalf("check after a lost count: %v (Retry-After %d), want unavailable for the rest of %v", err, retryAfterSeconds(err), storeBackoff)
		}
	}
	if _, err := th.begin(ctx, MemberSubject("frank"), "10.0.0.9", now.Add(storeBackoff)); domain.KindOf(err) != domain.KindUnavailable {
		t.Fatalf("check while the store is down: %v, want unavailable", err)
	}
}

// retryAfterSeconds is the Retry-After the api package answers err with.
func retryAfterSeconds(err error) int {
	var e *domain.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return 1
}
