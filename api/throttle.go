package api

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Password guessing is slowed down with three counts of failed attempts:
// per user name from one source address, per source address, and per user
// name from anywhere. Each has free failures (freePair, freeAddr, freeName);
// each failure after those locks its key for twice as long as the one before
// (1 s, 2 s, 4 s ... up to maxLock), and while a key is locked even the right
// password is refused, so the lock cannot be used to test guesses. Past its
// free failures, a key's attempts are checked one at a time, so that
// concurrent guesses cannot all slip in before the first one locks it.
//
// The pair count stops one client guessing one password; the address count
// stops it spraying guesses across many names (with room for one office
// behind a NAT); the name count, with a large budget, stops a guess spread
// over many addresses. Keeping the per-name budget large is what stops
// anybody from locking a colleague out with a few wrong passwords. A success
// clears its name's counts; failures older than forgetAfter are forgotten.
//
// The counts live in the memory of one replica: behind a load balancer an
// attacker gets at most one budget per replica, which still turns millions
// of guesses into a handful. Keeping them out of the event log is deliberate:
// failed logins would otherwise let anyone write to it.
const (
	freePair    = 5
	freeAddr    = 50
	freeName    = 200
	maxLock     = 15 * time.Minute
	forgetAfter = time.Hour
	// maxTracked bounds the memory an attacker can make the throttle use;
	// past it, forgotten and then unlocked entries are dropped.
	maxTracked = 100_000
)

type throttle struct {
	mu sync.Mutex
	// keys are "p:<addr>:<name>", "a:<addr>" and "n:<name>".
	keys map[string]*failures
}

// failures is one key's run of failed attempts.
type failures struct {
	n     int
	last  time.Time
	until time.Time // locked until then
	// trying is set while an attempt is checked that would lock the key
	// if it failed (n is at its free count or past it): the next waits for
	// its outcome, or a burst of concurrent guesses would all pass check
	// before the first of them failed.
	trying bool
}

func newThrottle() *throttle { return &throttle{keys: map[string]*failures{}} }

type throttleKey struct {
	key  string
	free int
}

func throttleKeys(name, addr string) [3]throttleKey {
	if !domain.ValidUserName(name) {
		// No login has such a name, so no check can accept it: count all
		// of them as one rather than keep each, which a Basic header can
		// make a megabyte long, in two keys.
		name = "\x00invalid"
	}
	return [3]throttleKey{{"p:" + addr + ":" + name, freePair}, {"a:" + addr, freeAddr}, {"n:" + name, freeName}}
}

// check refuses an attempt while any of its keys is locked or checks
// another attempt that could lock it. An attempt it lets through must call
// release once its outcome is counted: that frees exactly the keys this
// attempt held, never one another attempt took meanwhile.
func (t *throttle) check(name, addr string, now time.Time) (release func(), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := throttleKeys(name, addr)
	for _, k := range keys {
		f := t.keys[k.key]
		switch {
		case f == nil:
		case now.Before(f.until):
			return nil, throttled(f.until.Sub(now))
		case f.trying:
			return nil, throttled(time.Second)
		}
	}
	var held []*failures
	for _, k := range keys {
		if f := t.keys[k.key]; f != nil && f.n >= k.free && now.Sub(f.last) <= forgetAfter {
			f.trying = true
			held = append(held, f)
		}
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, f := range held {
			f.trying = false
		}
	}, nil
}

func throttled(retry time.Duration) error {
	return &domain.Error{Kind: domain.KindThrottled, RetryAfter: retry,
		Reason: "too many failed authentication attempts, retry later"}
}

// failed counts a wrong password for name from addr.
func (t *throttle) failed(name, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range throttleKeys(name, addr) {
		t.count(k, now)
	}
}

// succeeded clears name's counts (not the address's: one right password
// must not reset a spray from there).
func (t *throttle) succeeded(name, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := throttleKeys(name, addr)
	delete(t.keys, keys[0].key)
	delete(t.keys, keys[2].key)
}

func (t *throttle) count(k throttleKey, now time.Time) {
	f := t.keys[k.key]
	if f == nil || now.Sub(f.last) > forgetAfter {
		if len(t.keys) >= maxTracked {
			prune(t.keys, now)
		}
		f = &failures{}
		t.keys[k.key] = f
	}
	f.n++
	f.last = now
	if over := f.n - k.free; over > 0 {
		f.until = now.Add(lockFor(over))
	}
}

// lockFor doubles from one second with every failure over the free ones.
func lockFor(over int) time.Duration {
	if over > 20 {
		return maxLock
	}
	return min(time.Second<<(over-1), maxLock)
}

// prune drops forgotten entries, and if that is not enough, every entry
// that is not locked now.
func prune(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if now.Sub(f.last) > forgetAfter {
			delete(m, k)
		}
	}
	if len(m) < maxTracked {
		return
	}
	for k, f := range m {
		if !now.Before(f.until) {
			delete(m, k)
		}
	}
}

// checkPassword runs a password check for name under the throttle.
func (s *Server) checkPassword(r *http.Request, name string, check func() (domain.Principal, error)) (domain.Principal, error) {
	addr := sourceAddr(r)
	now := s.now()
	release, err := s.throttle.check(name, addr, now)
	if err != nil {
		s.log.Warn("authentication throttled", "user", loggedUser(name), "addr", addr)
		return domain.Principal{}, err
	}
	// Deferred: a check that panics must not hold its keys forever.
	defer release()
	p, err := check()
	switch {
	case err == nil:
		s.throttle.succeeded(name, addr)
	case domain.KindOf(err) == domain.KindUnauthenticated:
		s.throttle.failed(name, addr, now)
	}
	return p, err
}

// loggedUser is name as a log line may show it: a name no login can have
// (too long, or with bytes a name never holds) is only described, since a
// Basic header can make it a megabyte long.
func loggedUser(name string) string {
	if domain.ValidUserName(name) {
		return name
	}
	return fmt.Sprintf("(not a user name, %d bytes)", len(name))
}

// sourceAddr is the request's peer address without its port.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
