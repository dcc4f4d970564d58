package projections

import (
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// EndedSessions is the console sessions that were logged out and have not
// expired yet, so that every replica refuses their cookies, not only the
// one that answered the logout. Entries are dropped once their session
// would have expired; the clock for that is the events' own time, so that
// a replay folds to the same state as the live projection.
type EndedSessions struct {
	mu sync.RWMutex
	m  map[string]time.Time // hex SHA-256 of the session id -> its expiry
}

// NewEndedSessions returns an empty projection.
func NewEndedSessions() *EndedSessions { return &EndedSessions{m: map[string]time.Time{}} }

// Apply folds SessionEnded events.
func (e *EndedSessions) Apply(ev domain.Event) error {
	if ev.Type != (domain.SessionEnded{}).EventType() {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	s := p.(domain.SessionEnded)
	e.mu.Lock()
	defer e.mu.Unlock()
	for h, exp := range e.m {
		if !ev.Time.Before(exp) {
			delete(e.m, h)
		}
	}
	if ev.Time.Before(s.Expires) {
		e.m[s.Session] = s.Expires.UTC()
	}
	return nil
}

// Ended tells whether the session with this hash was logged out.
func (e *EndedSessions) Ended(hash string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.m[hash]
	return ok
}

// Name of the ended sessions in snapshots and digests.
func (e *EndedSessions) Name() string { return "sessions@1" }

// Snapshot encodes the entries sorted by hash.
func (e *EndedSessions) Snapshot() ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	hashes := sortedKeys(e.m)
	var w writer
	w.uint(uint64(len(hashes)))
	for _, h := range hashes {
		w.str(h)
		w.time(e.m[h])
	}
	return w.buf, nil
}

// Restore replaces the entries with a snapshot's.
func (e *EndedSessions) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	m := make(map[string]time.Time, n)
	for range n {
		h := r.str()
		m[h] = r.time()
	}
	if err := r.done(); err != nil {
		return err
	}
	e.mu.Lock()
	e.m = m
	e.mu.Unlock()
	return nil
}
