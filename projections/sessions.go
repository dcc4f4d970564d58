package projections

import (
	"container/heap"
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
	// byExpiry orders m's entries by expiry, so that dropping the expired
	// ones costs what they are, not a walk over every live one. It is
	// derived from m (Restore rebuilds it); an entry whose session was
	// ended again with another expiry is stale and skipped.
	byExpiry sessionQueue
	// Quarantine, when set, ends the sessions whose events this replica
	// could not fold: one of them may have been the logout.
	Quarantine *Quarantine
	// voidBefore is, per login, the time before which every session issued
	// to it is void (SessionsRevoked: removed, demoted, forced to reset).
	// One entry per login that ever had its sessions revoked.
	voidBefore map[string]time.Time
}

// NewEndedSessions returns an empty projection.
func NewEndedSessions() *EndedSessions {
	return &EndedSessions{m: map[string]time.Time{}, voidBefore: map[string]time.Time{}}
}

// sessionQueue is a min-heap of ended sessions by expiry.
type sessionQueue []endedSession

type endedSession struct {
	expires time.Time
	hash    string
}

func (q sessionQueue) Len() int           { return len(q) }
func (q sessionQueue) Less(i, j int) bool { return q[i].expires.Before(q[j].expires) }
func (q sessionQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *sessionQueue) Push(x any)        { *q = append(*q, x.(endedSession)) }
func (q *sessionQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Apply folds SessionEnded and SessionsRevoked events.
func (e *EndedSessions) Apply(ev domain.Event) error {
	switch ev.Type {
	case (domain.SessionEnded{}).EventType():
	case (domain.SessionsRevoked{}).EventType():
		return e.applyRevoked(ev)
	default:
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	s := p.(domain.SessionEnded)
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.byExpiry) > 0 && !ev.Time.Before(e.byExpiry[0].expires) {
		x := heap.Pop(&e.byExpiry).(endedSession)
		if exp, ok := e.m[x.hash]; ok && exp.Equal(x.expires) {
			delete(e.m, x.hash)
		}
	}
	if ev.Time.Before(s.Expires) {
		exp := s.Expires.UTC()
		e.m[s.Session] = exp
		heap.Push(&e.byExpiry, endedSession{expires: exp, hash: s.Session})
	}
	return nil
}

func (e *EndedSessions) applyRevoked(ev domain.Event) error {
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	r := p.(domain.SessionsRevoked)
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.Before.After(e.voidBefore[r.User]) {
		e.voidBefore[r.User] = r.Before.UTC()
	}
	return nil
}

// Revoked tells whether a session of user issued at issued was voided by a
// later SessionsRevoked, or the user is quarantined (an event of their
// login, such as a revocation, could not be folded).
func (e *EndedSessions) Revoked(user string, issued time.Time) bool {
	if e.Quarantine != nil && e.Quarantine.RefusesMember(user) {
		return true
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	before, ok := e.voidBefore[user]
	return ok && issued.Before(before)
}

// Ended tells whether the session with this hash was logged out (or is
// quarantined).
func (e *EndedSessions) Ended(hash string) bool {
	if e.Quarantine != nil && e.Quarantine.RefusesSession(hash) {
		return true
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.m[hash]
	return ok
}

// Name of the ended sessions in snapshots and digests.
func (e *EndedSessions) Name() string { return "sessions@2" }

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
	users := sortedKeys(e.voidBefore)
	w.uint(uint64(len(users)))
	for _, u := range users {
		w.str(u)
		w.time(e.voidBefore[u])
	}
	return w.buf, nil
}

// Restore replaces the entries with a snapshot's.
func (e *EndedSessions) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	m := make(map[string]time.Time, n)
	q := make(sessionQueue, 0, n)
	for range n {
		h, exp := r.str(), r.time()
		m[h] = exp
		q = append(q, endedSession{expires: exp, hash: h})
	}
	nu := r.count()
	void := make(map[string]time.Time, nu)
	for range nu {
		u, before := r.str(), r.time()
		void[u] = before
	}
	if err := r.done(); err != nil {
		return err
	}
	heap.Init(&q)
	e.mu.Lock()
	e.m, e.byExpiry, e.voidBefore = m, q, void
	e.mu.Unlock()
	return nil
}
