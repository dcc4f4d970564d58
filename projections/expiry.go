package projections

import (
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
//
// It may hold millions of keys, so a key costs 48 bytes: an entry of
// numbers in one dense slice (its id is the key table's, its tenant a
// number), 4 bytes in the index by slot and 4 in the queue; the notices
// recorded for a key live apart, only for the keys that have some.
type Expiry struct {
	windows []domain.NoticeWindow // longest first

	mu    sync.RWMutex
	table *KeyTable
	// index is the number of each scheduled key's entry by slot (KeyTable),
	// 1-based, 0 where none.
	index   []uint32
	entries []expiryEntry
	free    []uint32 // numbers of unused entries
	count   int
	queue   []uint32 // a min-heap on due of entry numbers
	tenants interner[domain.TenantID]
	// notices are the notices recorded for a key, by slot, for any expiry
	// it has had: an expiration changed back still knows what was sent.
	notices map[uint32][]noticeMark
	slots   []uint32 // ApplyAll's scratch (KeyTable.foldRun)
}

// expiryEntry is one scheduled key.
type expiryEntry struct {
	expires int64 // unix seconds
	due     int64 // unix nanoseconds
	keySeq  uint64
	nsec    uint32 // of expires
	pos     uint32 // in the queue
	tenant  uint32 // in Expiry.tenants
	slot    uint32 // in the key table
}

type noticeMark struct {
	window  domain.NoticeWindow
	expires int64 // unix seconds, as in the notice's id
}

func (e *expiryEntry) expiry() time.Time { return time.Unix(e.expires, int64(e.nsec)).UTC() }

func (e *expiryEntry) setExpiry(t time.Time) { e.expires, e.nsec = t.Unix(), uint32(t.Nanosecond()) }

// NewExpiry returns an empty schedule for the given notice windows, with a
// key table of its own.
func NewExpiry(windows []domain.NoticeWindow) *Expiry { return NewExpiryIn(windows, NewKeyTable()) }

// NewExpiryIn returns an empty schedule numbering keys in table t, which
// it may share with other projections.
func NewExpiryIn(windows []domain.NoticeWindow, t *KeyTable) *Expiry {
	ws := append([]domain.NoticeWindow(nil), windows...)
	sort.Slice(ws, func(i, j int) bool { return ws[i] > ws[j] })
	return &Expiry{windows: ws, table: t, tenants: newInterner[domain.TenantID](), notices: map[uint32][]noticeMark{}}
}

// Reserve makes room for n keys in an empty schedule (see Keys.Reserve).
func (x *Expiry) Reserve(n int) {
	x.table.Reserve(n)
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.entries) == 0 {
		x.index, x.entries, x.queue = make([]uint32, 0, n), make([]expiryEntry, 0, n), make([]uint32, 0, n)
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
	switch k := p.(type) {
	case domain.KeyCreated:
		if k.Expires != nil {
			x.schedule(ev.Tenant, slot, *k.Expires, ev.Seq)
		}
	case domain.KeyUpdated:
		x.updated(ev.Tenant, slot, k, ev.Seq)
	case domain.KeyRotated:
		x.rotated(ev.Tenant, slot, k, ev.Seq)
	case domain.KeyInvalidated, domain.KeyExpired:
		x.remove(slot)
	default:
		if e := x.entry(slot); e != nil {
			e.keySeq = ev.Seq
		}
	}
	return nil
}

// entry is the scheduled entry of the key in slot, nil if none.
func (x *Expiry) entry(slot uint32) *expiryEntry {
	if n := at(x.index, slot); n != 0 {
		return &x.entries[n-1]
	}
	return nil
}

func (x *Expiry) updated(t domain.TenantID, slot uint32, u domain.KeyUpdated, seq uint64) {
	e := x.entry(slot)
	switch {
	case u.NeverExpires:
		x.remove(slot)
	case e == nil && u.Expires != nil: // a key that never expired now does
		x.schedule(t, slot, *u.Expires, seq)
	case e != nil && u.Expires != nil:
		e.setExpiry(*u.Expires)
		e.keySeq = seq
		x.reschedule(e)
	case e != nil:
		e.keySeq = seq
	}
}

// rotated moves a rotated key to the end of its grace, with every window
// marked noticed for that end: a key ended by rotation is owed no "expires
// soon" notice (its successor is), only its expiry is recorded.
func (x *Expiry) rotated(t domain.TenantID, slot uint32, r domain.KeyRotated, seq uint64) {
	if len(x.windows) > 0 {
		x.notices[slot] = append(x.notices[slot], noticeMark{window: x.windows[len(x.windows)-1], expires: r.Expires.Unix()})
	}
	e := x.entry(slot)
	if e == nil {
		x.schedule(t, slot, r.Expires, seq)
		return
	}
	e.setExpiry(r.Expires)
	e.keySeq = seq
	x.reschedule(e)
}

func (x *Expiry) noticed(n domain.ExpiryNoticeRecorded) {
	slot, ok := x.table.Slot(n.KeyID)
	if !ok || x.entry(slot) == nil {
		return // revoked or expired meanwhile
	}
	x.notices[slot] = append(x.notices[slot], noticeMark{window: n.Window, expires: n.Expires.Unix()})
	x.reschedule(x.entry(slot))
}

// schedule (re)places the key in slot, of tenant t, expiring at exp.
func (x *Expiry) schedule(t domain.TenantID, slot uint32, exp time.Time, seq uint64) {
	x.remove(slot)
	var n uint32
	if k := len(x.free); k > 0 {
		n, x.free = x.free[k-1], x.free[:k-1]
	} else {
		x.entries = append(x.entries, expiryEntry{})
		n = uint32(len(x.entries))
	}
	e := &x.entries[n-1]
	*e = expiryEntry{tenant: x.tenants.id(t), slot: slot, keySeq: seq}
	e.setExpiry(exp)
	e.due = x.dueOf(e)
	x.index = put(x.index, slot, n)
	x.count++
	e.pos = uint32(len(x.queue))
	x.queue = append(x.queue, n)
	x.up(int(e.pos))
}

func (x *Expiry) reschedule(e *expiryEntry) {
	e.due = x.dueOf(e)
	if !x.down(int(e.pos)) {
		x.up(int(e.pos))
	}
}

func (x *Expiry) dueOf(e *expiryEntry) int64 {
	return domain.NextNoticeAt(e.expiry(), x.windows, x.noticedFor(e)).UnixNano()
}

// remove unschedules the key in slot, and forgets the notices recorded
// for it: they are kept only for scheduled keys.
func (x *Expiry) remove(slot uint32) {
	n := at(x.index, slot)
	if n == 0 {
		return
	}
	i, last := int(x.entries[n-1].pos), len(x.queue)-1
	if i != last {
		x.swap(i, last)
	}
	x.queue = x.queue[:last]
	if i != last && !x.down(i) {
		x.up(i)
	}
	x.entries[n-1] = expiryEntry{}
	x.free = append(x.free, n)
	x.index[slot] = 0
	x.count--
	delete(x.notices, slot)
}

// noticedFor is the most urgent window noticed for e's current expiry, 0
// for none.
func (x *Expiry) noticedFor(e *expiryEntry) domain.NoticeWindow {
	var min domain.NoticeWindow
	for _, n := range x.notices[e.slot] {
		if n.expires == e.expires && (min == 0 || n.window < min) {
			min = n.window
		}
	}
	return min
}

// The queue is a binary min-heap of entry numbers on their due time.

func (x *Expiry) dueAt(i int) int64 { return x.entries[x.queue[i]-1].due }

func (x *Expiry) swap(i, j int) {
	q := x.queue
	q[i], q[j] = q[j], q[i]
	x.entries[q[i]-1].pos, x.entries[q[j]-1].pos = uint32(i), uint32(j)
}

func (x *Expiry) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if x.dueAt(parent) <= x.dueAt(i) {
			return
		}
		x.swap(i, parent)
		i = parent
	}
}

// down sinks entry i to its place and reports whether it moved.
func (x *Expiry) down(i int) bool {
	start, n := i, len(x.queue)
	for {
		least := 2*i + 1
		if least >= n {
			break
		}
		if r := least + 1; r < n && x.dueAt(r) < x.dueAt(least) {
			least = r
		}
		if x.dueAt(least) >= x.dueAt(i) {
			break
		}
		x.swap(i, least)
		i = least
	}
	return i > start
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
	x.table.mu.RLock()
	buf = x.collect(0, limit, buf)
	x.table.mu.RUnlock()
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

// collect walks the heap from slot i, descending only into slots due by
// limit: a slot not due has no due descendants. x.mu and the table's lock
// are held.
func (x *Expiry) collect(i int, limit int64, buf []DueKey) []DueKey {
	if i >= len(x.queue) || x.dueAt(i) > limit {
		return buf
	}
	e := &x.entries[x.queue[i]-1]
	buf = append(buf, DueKey{Tenant: x.tenants.vals[e.tenant], ID: x.table.ids[e.slot], Expires: e.expiry(),
		Noticed: x.noticedFor(e), KeySeq: e.keySeq})
	buf = x.collect(2*i+1, limit, buf)
	return x.collect(2*i+2, limit, buf)
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
