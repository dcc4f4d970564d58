package projections

import (
	"container/heap"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Expiry is the expiry schedule: every live key that expires, ordered by
// the moment something next falls due for it (the start of its next notice
// window, or its expiry). A scan reads only the entries due by now, so its
// cost follows the keys due, not the number of keys. Revoked keys, keys
// that never expire and keys whose expiry has been recorded leave it; a
// changed expiration moves its key; a recorded notice moves its key on to
// the next window.
type Expiry struct {
	windows []domain.NoticeWindow // longest first

	mu    sync.RWMutex
	table *KeyTable
	// bySlot are the scheduled keys by slot (KeyTable), nil where none.
	bySlot []*expiryEntry
	count  int
	queue  expiryQueue
	slots  []uint32 // ApplyAll's scratch (KeyTable.foldRun)
}

// expiryEntry is one scheduled key, kept small: the schedule may hold
// millions.
type expiryEntry struct {
	tenant  domain.TenantID
	id      domain.KeyID
	expires time.Time
	due     int64 // unix nanoseconds
	keySeq  uint64
	// notices are the notices recorded for this key, for any expiry it has
	// had: an expiration changed back still knows what was sent.
	notices []noticeMark
	pos     int    // index in the queue
	slot    uint32 // in the key table
}

type noticeMark struct {
	window  domain.NoticeWindow
	expires int64 // unix seconds, as in the notice's id
}

// NewExpiry returns an empty schedule for the given notice windows, with a
// key table of its own.
func NewExpiry(windows []domain.NoticeWindow) *Expiry { return NewExpiryIn(windows, NewKeyTable()) }

// NewExpiryIn returns an empty schedule numbering keys in table t, which
// it may share with other projections.
func NewExpiryIn(windows []domain.NoticeWindow, t *KeyTable) *Expiry {
	ws := append([]domain.NoticeWindow(nil), windows...)
	sort.Slice(ws, func(i, j int) bool { return ws[i] > ws[j] })
	return &Expiry{windows: ws, table: t}
}

// Reserve makes room for n keys in an empty schedule (see Keys.Reserve).
func (x *Expiry) Reserve(n int) {
	x.table.Reserve(n)
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.bySlot) == 0 {
		x.bySlot = make([]*expiryEntry, 0, n)
	}
}

// Windows are the notice windows the schedule was built for, longest first.
func (x *Expiry) Windows() []domain.NoticeWindow { return x.windows }

// Apply folds key events and recorded notices; everything else is ignored.
func (x *Expiry) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey && ev.AggType != domain.AggNotice {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	slot := uint32(0)
	if ev.AggType == domain.AggKey {
		slot = x.table.slotFor(domain.KeyID(ev.AggID))
	}
	return x.apply(ev, slot)
}

// ApplyAll folds a run of events (BatchApplier).
func (x *Expiry) ApplyAll(evs []domain.Event) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.table.foldRun(evs, &x.slots, x.apply)
}

// apply folds one event, about the key in slot when it is a key's; x.mu is
// held.
func (x *Expiry) apply(ev domain.Event, slot uint32) error {
	if ev.AggType != domain.AggKey && ev.AggType != domain.AggNotice {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	if ev.AggType == domain.AggNotice {
		if n, ok := p.(domain.ExpiryNoticeRecorded); ok {
			x.noticed(n)
		}
		return nil
	}
	id := domain.KeyID(ev.AggID)
	switch k := p.(type) {
	case domain.KeyCreated:
		if k.Expires != nil {
			x.schedule(&expiryEntry{tenant: ev.Tenant, id: id, expires: *k.Expires, slot: slot}, ev.Seq)
		}
	case domain.KeyUpdated:
		x.updated(ev.Tenant, id, slot, k, ev.Seq)
	case domain.KeyRotated:
		x.rotated(ev.Tenant, id, slot, k, ev.Seq)
	case domain.KeyInvalidated, domain.KeyExpired:
		x.remove(slot)
	default:
		if e := at(x.bySlot, slot); e != nil {
			e.keySeq = ev.Seq
		}
	}
	return nil
}

func (x *Expiry) updated(t domain.TenantID, id domain.KeyID, slot uint32, u domain.KeyUpdated, seq uint64) {
	e := at(x.bySlot, slot)
	switch {
	case u.NeverExpires:
		x.remove(slot)
	case e == nil && u.Expires != nil: // a key that never expired now does
		x.schedule(&expiryEntry{tenant: t, id: id, expires: *u.Expires, slot: slot}, seq)
	case e != nil && u.Expires != nil:
		e.expires = *u.Expires
		e.keySeq = seq
		x.reschedule(e)
	case e != nil:
		e.keySeq = seq
	}
}

// rotated moves a rotated key to the end of its grace, with every window
// marked noticed for that end: a key ended by rotation is owed no "expires
// soon" notice (its successor is), only its expiry is recorded.
func (x *Expiry) rotated(t domain.TenantID, id domain.KeyID, slot uint32, r domain.KeyRotated, seq uint64) {
	e := at(x.bySlot, slot)
	if e == nil {
		e = &expiryEntry{tenant: t, id: id, slot: slot}
	}
	e.expires = r.Expires
	if len(x.windows) > 0 {
		e.notices = append(e.notices, noticeMark{window: x.windows[len(x.windows)-1], expires: r.Expires.Unix()})
	}
	if at(x.bySlot, slot) == nil {
		x.schedule(e, seq)
		return
	}
	e.keySeq = seq
	x.reschedule(e)
}

func (x *Expiry) noticed(n domain.ExpiryNoticeRecorded) {
	var e *expiryEntry
	if slot, ok := x.table.Slot(n.KeyID); ok {
		e = at(x.bySlot, slot)
	}
	if e == nil {
		return // revoked or expired meanwhile
	}
	e.notices = append(e.notices, noticeMark{window: n.Window, expires: n.Expires.Unix()})
	x.reschedule(e)
}

func (x *Expiry) schedule(e *expiryEntry, seq uint64) {
	x.remove(e.slot)
	e.keySeq = seq
	e.due = domain.NextNoticeAt(e.expires, x.windows, e.noticedFor()).UnixNano()
	x.bySlot = put(x.bySlot, e.slot, e)
	x.count++
	heap.Push(&x.queue, e)
}

func (x *Expiry) reschedule(e *expiryEntry) {
	e.due = domain.NextNoticeAt(e.expires, x.windows, e.noticedFor()).UnixNano()
	heap.Fix(&x.queue, e.pos)
}

func (x *Expiry) remove(slot uint32) {
	e := at(x.bySlot, slot)
	if e == nil {
		return
	}
	heap.Remove(&x.queue, e.pos)
	x.bySlot[slot] = nil
	x.count--
}

// noticedFor is the most urgent window noticed for the current expiry, 0
// for none.
func (e *expiryEntry) noticedFor() domain.NoticeWindow {
	var min domain.NoticeWindow
	exp := e.expires.Unix()
	for _, n := range e.notices {
		if n.expires == exp && (min == 0 || n.window < min) {
			min = n.window
		}
	}
	return min
}

// DueKey is a key something falls due for.
type DueKey struct {
	Tenant  domain.TenantID
	ID      domain.KeyID
	Expires time.Time
	// Noticed is the most urgent window already noticed for this expiry
	// (0: none).
	Noticed domain.NoticeWindow
	// KeySeq is the last sequence of the key's subject: the expected
	// sequence of a KeyExpired.
	KeySeq uint64
}

// Due appends to buf the keys whose next notice or expiry falls due by
// now, soonest expiry first. It visits only those keys (and at most twice as
// many queue slots), whatever the size of the schedule.
func (x *Expiry) Due(now time.Time, buf []DueKey) []DueKey {
	limit := now.UnixNano()
	x.mu.RLock()
	buf = x.queue.collect(0, limit, buf)
	x.mu.RUnlock()
	sort.Slice(buf, func(i, j int) bool {
		if c := buf[i].Expires.Compare(buf[j].Expires); c != 0 {
			return c < 0
		}
		return buf[i].ID < buf[j].ID
	})
	return buf
}

// Len is the number of keys scheduled.
func (x *Expiry) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.count
}

// expiryQueue is a min-heap on due time.
type expiryQueue []*expiryEntry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q expiryQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].pos, q[j].pos = i, j
}
func (q *expiryQueue) Push(v any) {
	e := v.(*expiryEntry)
	e.pos = len(*q)
	*q = append(*q, e)
}
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// collect walks the heap from slot i, descending only into slots due by
// limit: a slot not due has no due descendants.
func (q expiryQueue) collect(i int, limit int64, buf []DueKey) []DueKey {
	if i >= len(q) || q[i].due > limit {
		return buf
	}
	e := q[i]
	buf = append(buf, DueKey{Tenant: e.tenant, ID: e.id, Expires: e.expires, Noticed: e.noticedFor(), KeySeq: e.keySeq})
	buf = q.collect(2*i+1, limit, buf)
	return q.collect(2*i+2, limit, buf)
}

// Notices holds the expiry notices still to be delivered: what each is
// about, whom it is for, who has been told (or given up on), and the last
// sequence of its subject. A notice leaves once every recipient is settled
// or it was canceled, so the map holds only work in progress.
type Notices struct {
	mu sync.RWMutex
	m  map[string]*NoticeState // by subject
}

// NoticeState is one notice in progress.
type NoticeState struct {
	Tenant domain.TenantID
	ID     string
	Notice domain.ExpiryNoticeRecorded
	// Settled holds the lower-cased recipients delivered or failed.
	Settled map[string]bool
	Seq     uint64
}

// Pending are the recipients not yet settled.
func (s NoticeState) Pending() []string {
	var out []string
	for _, r := range s.Notice.Recipients {
		if !s.Settled[strings.ToLower(r)] {
			out = append(out, r)
		}
	}
	return out
}

// NewNotices returns an empty set.
func NewNotices() *Notices { return &Notices{m: map[string]*NoticeState{}} }

// Apply folds notice events.
func (ns *Notices) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggNotice {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	subj := eventlog.Subject(ev)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s := ns.m[subj]
	switch n := p.(type) {
	case domain.ExpiryNoticeRecorded:
		s = &NoticeState{Tenant: ev.Tenant, ID: ev.AggID, Notice: n, Settled: map[string]bool{}}
		ns.m[subj] = s
	case domain.NoticeDelivered:
		s.settle(n.Recipient)
	case domain.NoticeFailed:
		s.settle(n.Recipient)
	case domain.NoticeCanceled:
		delete(ns.m, subj)
		return nil
	default:
		return domain.E(domain.KindInternal, "notice projection cannot apply %s", ev.Type)
	}
	if s == nil {
		return nil // an outcome of a notice already settled
	}
	s.Seq = ev.Seq
	if len(s.Pending()) == 0 {
		delete(ns.m, subj)
	}
	return nil
}

func (s *NoticeState) settle(recipient string) {
	if s != nil {
		s.Settled[strings.ToLower(recipient)] = true
	}
}

// Get returns the notice (tenant t, aggregate id) if it is still in
// progress. The Settled map of the answer is a copy.
func (ns *Notices) Get(t domain.TenantID, id string) (NoticeState, bool) {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	s, ok := ns.m[eventlog.SubjectOf(t, domain.AggNotice, id)]
	if !ok {
		return NoticeState{}, false
	}
	c := *s
	c.Settled = make(map[string]bool, len(s.Settled))
	for k, v := range s.Settled {
		c.Settled[k] = v
	}
	return c, true
}

// Len is the number of notices in progress.
func (ns *Notices) Len() int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return len(ns.m)
}
