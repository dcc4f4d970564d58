package projections

import (
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Poisoned is an event the projections could not fold: it does not decode,
// this binary does not know its type or version, or a projection refused
// it. It names the event by sequence and subject only: its content may
// hold anything, secrets included, and is never repeated.
type Poisoned struct {
	Seq     uint64 `json:"seq"`
	Subject string `json:"subject"`
	// Cause says which of the three it was, never with the event's content.
	Cause string `json:"cause"`
}

// Quarantine is what a replica fails closed on: the events it could not
// fold, and what they concern, which it refuses from then on. Skipping
// such an event silently would answer from a state that may lack it (a
// revocation); stopping at it would freeze every projection, so that every
// later revocation went unheard. So the runner records the event here and
// folds on, and authentication and the key list refuse what the event's
// subject (kp.<tenant>.<type>.<id>) names:
//
//	key.<id>, notice.<id>-<window>-<expiry>   that key
//	keyuse.<id>                               that key's last use only: it still
//	                                          authenticates, but is left out of
//	                                          every filter on use (and so of cleanups)
//	session.<hash>                            that console session
//	_sys user.<hex(name)>                     that member: their keys, memberships and sessions
//	_sys orgname.<hex(name)>                  nothing: a claim of a name authenticates no one
//	any other aggregate of an organization    the organization: every key, every membership
//	anything else                             every key and membership (it cannot tell)
//
// It is a projection (a no-op fold) only so that snapshots carry it: a
// replica restarted from a snapshot taken past such an event still refuses
// what it concerns. A key table holds one (KeyTable.Quarantine), which
// the projections on that table consult, and so does the directory of
// organizations (tenants.Directory) for members.
type Quarantine struct {
	// some is false while nothing is quarantined: then a check is one
	// atomic load, on the path of every authentication.
	some atomic.Bool
	// Notify, when set, is told of each event as it is quarantined (a log
	// line, a metric), not of those restored from a snapshot.
	Notify func(Poisoned)

	mu       sync.RWMutex
	events   []Poisoned // by sequence
	keys     map[domain.KeyID]struct{}
	usage    map[domain.KeyID]struct{} // keys whose last use is unknown
	orgs     map[domain.TenantID]struct{}
	owners   map[string]struct{}
	sessions map[string]struct{}
	all      bool
}

// Undecoded says the event was quarantined because it did not decode, or
// its type or version was unknown: a later binary may read it.
func (p Poisoned) Undecoded() bool {
	return p.Cause == causeUndecodable || strings.HasPrefix(p.Cause, causeUnknown)
}

// NewQuarantine returns an empty quarantine.
func NewQuarantine() *Quarantine { return &Quarantine{} }

// Causes of a quarantine.
const (
	causeUndecodable = "does not decode"
	causeUnknown     = "payload does not decode or is of an unknown type or version"
	causeRefused     = "refused by projection "
)

// add records p, about the aggregate of ev, unless its sequence already is.
// It reports whether p is new.
func (q *Quarantine) add(p Poisoned, ev domain.Event) bool {
	q.mu.Lock()
	i, found := slices.BinarySearchFunc(q.events, p.Seq, func(e Poisoned, s uint64) int {
		switch {
		case e.Seq < s:
			return -1
		case e.Seq > s:
			return 1
		}
		return 0
	})
	if found && p.Seq != 0 {
		q.mu.Unlock()
		return false
	}
	q.events = slices.Insert(q.events, i, p)
	q.refuse(ev.Tenant, ev.AggType, ev.AggID)
	q.mu.Unlock()
	q.some.Store(true)
	if q.Notify != nil {
		q.Notify(p)
	}
	return true
}

// refuse adds what an aggregate's event concerns to the refused sets (see
// Quarantine); q.mu is held.
func (q *Quarantine) refuse(t domain.TenantID, aggType, id string) {
	switch {
	case t == "" || id == "":
	case aggType == domain.AggKey:
		setAdd(&q.keys, domain.KeyID(id))
		return
	case aggType == domain.AggKeyUse:
		// A usage record says only when the key was used: refusing the
		// key for one this replica cannot read (a newer version, written
		// during a rolling upgrade) would lock out every key used then.
		setAdd(&q.usage, domain.KeyID(id))
		return
	case aggType == domain.AggNotice && t != domain.SystemTenant:
		if k, ok := domain.NoticeKeyID(id); ok {
			setAdd(&q.keys, k)
		} else {
			setAdd(&q.orgs, t)
		}
		return
	case aggType == domain.AggSession:
		setAdd(&q.sessions, id)
		return
	case t == domain.SystemTenant && aggType == domain.AggUser:
		if name, err := hex.DecodeString(id); err == nil { // domain.UserAggID
			setAdd(&q.owners, string(name))
			return
		}
	case t == domain.SystemTenant && aggType == domain.AggOrgName:
		return
	case t != domain.SystemTenant:
		setAdd(&q.orgs, t)
		return
	}
	q.all = true
}

func setAdd[K comparable](m *map[K]struct{}, k K) {
	if *m == nil {
		*m = map[K]struct{}{}
	}
	(*m)[k] = struct{}{}
}

// UsageUnknown says whether a usage record of key id could not be read:
// its last use is unknown, so no filter on use may count on it.
func (q *Quarantine) UsageUnknown(id domain.KeyID) bool {
	return q.refuses(func() bool { _, ok := q.usage[id]; return ok })
}

// RefusesKeyID says whether a key is refused by its id alone (its own
// events, or the replica cannot tell what a bad event concerned). It does
// not allocate.
func (q *Quarantine) RefusesKeyID(id []byte) bool {
	if !q.some.Load() {
		return false
	}
	q.mu.RLock()
	_, ok := q.keys[domain.KeyID(id)]
	ok = ok || q.all
	q.mu.RUnlock()
	return ok
}

// refusesKey says whether the key of that id, tenant and owner is
// refused: by its id, its organization or its owner.
func (q *Quarantine) refusesKey(id domain.KeyID, t domain.TenantID, owner domain.Owner) bool {
	if !q.some.Load() {
		return false
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.all {
		return true
	}
	if _, ok := q.keys[id]; ok {
		return true
	}
	if _, ok := q.orgs[t]; ok {
		return true
	}
	if owner.Realm == "" {
		if _, ok := q.owners[owner.User]; ok {
			return true
		}
	}
	return false
}

// RefusesOrg says whether members act in organization t no more: an
// event of one of its aggregates other than a key could not be folded (a
// member's removal, say), or the replica cannot tell what one concerned.
func (q *Quarantine) RefusesOrg(t domain.TenantID) bool {
	return q.refuses(func() bool { _, ok := q.orgs[t]; return ok })
}

// RefusesMember says whether the member (console user) name acts in no
// organization any more: an event of their login could not be folded.
func (q *Quarantine) RefusesMember(name string) bool {
	return q.refuses(func() bool { _, ok := q.owners[name]; return ok })
}

// RefusesSession says whether the console session whose id hashes to hash
// is refused.
func (q *Quarantine) RefusesSession(hash string) bool {
	return q.refuses(func() bool { _, ok := q.sessions[hash]; return ok })
}

// refuses says whether in (a lookup made under the read lock) holds, or
// the replica refuses everything; with nothing quarantined it is one
// atomic load.
func (q *Quarantine) refuses(in func() bool) bool {
	if !q.some.Load() {
		return false
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.all || in()
}

// Events are the quarantined events, by sequence.
func (q *Quarantine) Events() []Poisoned {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return slices.Clone(q.events)
}

// First is the first n quarantined events, by sequence, and how many there
// are in all: what a probe shows without copying every one.
func (q *Quarantine) First(n int) (first []Poisoned, total int) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return slices.Clone(q.events[:min(n, len(q.events))]), len(q.events)
}

// Len is how many events are quarantined.
func (q *Quarantine) Len() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return len(q.events)
}

// Apply folds nothing: the runner records events here (Runner.poison).
func (q *Quarantine) Apply(domain.Event) error { return nil }

// Name of the quarantine in snapshots and digests.
func (q *Quarantine) Name() string { return "quarantine@1" }

// Snapshot encodes the quarantined events by sequence; what they concern
// is derived from their subjects again on Restore.
func (q *Quarantine) Snapshot() ([]byte, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	var w writer
	w.uint(uint64(len(q.events)))
	for _, p := range q.events {
		w.uint(p.Seq)
		w.str(p.Subject)
		w.str(p.Cause)
	}
	return w.buf, nil
}

// Restore replaces the quarantine with a snapshot's.
func (q *Quarantine) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	events := make([]Poisoned, 0, n)
	for range n {
		events = append(events, Poisoned{Seq: r.uint(), Subject: r.str(), Cause: r.str()})
	}
	if err := r.done(); err != nil {
		return err
	}
	q.mu.Lock()
	q.events, q.keys, q.usage, q.orgs, q.owners, q.sessions, q.all = events, nil, nil, nil, nil, nil, false
	for _, p := range events {
		ev := eventlog.Undecodable(p.Seq, p.Subject, "")
		q.refuse(ev.Tenant, ev.AggType, ev.AggID)
	}
	q.mu.Unlock()
	q.some.Store(len(events) > 0)
	return nil
}
