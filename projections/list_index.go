package projections

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// A tenant's keys are kept in order by owner (orderedIndex: an owner
// changes only when the log creates a key again, which rebuilds it) and
// by expiration and last use, which updates, rotations and uses change:
// those are valueIndexes (index_order.go), whose entries carry the time
// they were indexed at as a number (timeKey), an entry whose key no longer
// holds that time being stale and skipped by readers. Each orders as
// keyOrder does: the time, then the id.

// timeKey numbers t so that numbers order as times do (Compare):
// Unix nanoseconds between 1678 and 2262, and around them a number for
// the zero time (never used), one for expiryOrMax's "never", and one for
// each span of times between those, which stand for more than one time
// (inexact: an entry under one of them is ordered by its key's time).
func timeKey(t time.Time) int64 {
	switch {
	case t.IsZero():
		return keyZero
	case t.Before(time.Time{}):
		return keyBeforeZero
	case t.Before(lowestNano):
		return keyBeforeNano
	case !t.After(highestNano):
		return t.UnixNano()
	case t.Before(neverExpires):
		return keyAfterNano
	case t.Equal(neverExpires):
		return keyNever
	}
	return keyAfterNever
}

const (
	keyBeforeZero = math.MinInt64 + iota
	keyZero
	keyBeforeNano
)

const (
	keyAfterNever = math.MaxInt64 - iota
	keyNever
	keyAfterNano
)

var (
	lowestNano   = time.Unix(0, keyBeforeNano+1)
	highestNano  = time.Unix(0, keyAfterNano-1)
	neverExpires = expiryOrMax(time.Time{})
)

// exactKey says whether timeKey gives v to one time only.
func exactKey(v int64) bool {
	return v != keyBeforeZero && v != keyBeforeNano && v != keyAfterNano && v != keyAfterNever
}

// keyTime is the time of an exact key.
func keyTime(v int64) time.Time {
	switch v {
	case keyZero:
		return time.Time{}
	case keyNever:
		return neverExpires
	}
	return time.Unix(0, v)
}

// timeField is a time a tenant's keys are sorted by that changes: of
// reads it, key its number (timeKey), from the packed time when it can.
type timeField struct {
	of  func(*keyRec) time.Time
	key func(*keyRec) int64
}

var (
	expiryField  = &timeField{of: expiryOf, key: expiryKey}
	lastUseField = &timeField{of: lastUseOf, key: lastUseKey}
)

func expiryOf(r *keyRec) time.Time  { return expiryOrMax(r.expiresAt()) }
func lastUseOf(r *keyRec) time.Time { return r.lastUsed() }

// expiryKey is timeKey(expiryOf(r)) without making a time: a restore
// reads it of a million keys.
func expiryKey(r *keyRec) int64 {
	if r.more != nil && r.more.exact != nil {
		return timeKey(expiryOf(r))
	}
	return packedKey(r.expires, keyNever)
}

func lastUseKey(r *keyRec) int64 {
	switch {
	case r.more == nil:
		return keyZero
	case r.more.exact != nil:
		return timeKey(lastUseOf(r))
	}
	return packedKey(r.more.lastUsed, keyZero)
}

// packedKey is timeKey of a packed time (Unix nanoseconds, packTime),
// none for 0 (no time).
func packedKey(n, none int64) int64 {
	switch {
	case n == 0:
		return none
	case n <= keyBeforeNano || n >= keyAfterNano:
		return timeKey(unpackTime(n))
	}
	return n
}

// byOwner orders a tenant's keys by owner, then id.
func (l *tenantKeys) byOwner(a, b int32) int {
	ka, kb := l.keys[a], l.keys[b]
	if c := strings.Compare(ka.c.Owner.User, kb.c.Owner.User); c != 0 {
		return c
	}
	return cmp.Compare(ka.ID, kb.ID)
}

// timeOrder orders entries of the index of f: by their number, then, for
// an inexact one, by the key's time (an inexact entry is never stale:
// retimed), then by id.
func (l *tenantKeys) timeOrder(f *timeField) cmpEntries {
	return func(va int64, pa int32, vb int64, pb int32) int {
		if c := cmp.Compare(va, vb); c != 0 {
			return c
		}
		ka, kb := l.keys[pa], l.keys[pb]
		if !exactKey(va) {
			if c := f.of(ka).Compare(f.of(kb)); c != 0 {
				return c
			}
		}
		return cmp.Compare(ka.ID, kb.ID)
	}
}

// addTimes indexes the key just added at pos by its times.
func (l *tenantKeys) addTimes(r *keyRec) {
	l.expiry.insert(expiryKey(r), r.pos, len(l.keys), l.timeOrder(expiryField))
	l.lastUse.insert(lastUseKey(r), r.pos, len(l.keys), l.timeOrder(lastUseField))
}

// changed indexes the new times of r, which replaced old.
func (l *tenantKeys) changed(old, r *keyRec) {
	l.retime(&l.expiry, expiryField, old, r)
	l.retime(&l.lastUse, lastUseField, old, r)
}

// retime adds an entry for r's new time, the old one left stale; an old
// entry whose number is inexact cannot be told stale from its number, so
// the index is rebuilt instead (by its next reader: rare times, past 2262).
// An index left to its first reader has nothing to retime: a replay's
// uses, most of a log, do not read two times of each key for nothing.
func (l *tenantKeys) retime(x *valueIndex, f *timeField, old, r *keyRec) {
	if x.unbuilt {
		return
	}
	was, now := f.of(old), f.of(r)
	switch {
	case was.Equal(now):
	case !exactKey(timeKey(was)):
		x.lazy()
	default:
		x.insert(f.key(r), r.pos, len(l.keys), l.timeOrder(f))
	}
}

// readyTimes builds the lazy index of f from the keys' current times; a
// reader calls it under the list's read lock.
func (l *tenantKeys) readyTimes(x *valueIndex, f *timeField) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.unbuilt {
		x.runs, x.entries, x.stale, x.unbuilt = []valueRun{l.timeRun(f, nil, nil)}, len(l.keys), 0, false
	}
}

// timeRun is every key in the order of f, in one run: from the keys in
// order pos when given (a restore's), else sorted; keys are their
// numbers by position, read here when not given.
func (l *tenantKeys) timeRun(f *timeField, pos []int32, keys []int64) valueRun {
	if keys == nil {
		keys = make([]int64, len(l.keys))
		for i, r := range l.keys {
			keys[i] = f.key(r)
		}
	}
	if pos == nil {
		pos = make([]int32, len(l.keys))
		for i := range pos {
			pos[i] = int32(i)
		}
		order := l.timeOrder(f)
		slices.SortFunc(pos, func(a, b int32) int { return order(keys[a], a, keys[b], b) })
	}
	run := valueRun{v: make([]int64, len(pos)), p: pos}
	for i, p := range pos {
		run.v[i] = keys[p]
	}
	return run
}

// listView is one of a tenant's orders, read as its runs: an entry's
// position in the list, whether it is live, the order of two entries and
// the position (Position) of an entry in the ascending sort, where a
// cursor is looked for.
type listView struct {
	lens []int
	pos  func(r, i int) int32
	live func(r, i int) bool
	cmp  func(r, i, s, j int) int
	at   func(r, i int) Position
}

// viewOf is the view of l's index for sort (ascending, "-" left off), built
// if lazy; ok is false for a sort no index keeps. The read lock is held.
func (l *tenantKeys) viewOf(by string) (v *listView, ok bool) {
	if o, order := l.posIndex(by); o != nil {
		return l.posView(o, order, by), true
	}
	if x, f := l.timeIndex(by); x != nil {
		return l.timeView(x, f), true
	}
	return nil, false
}

// posIndex is l's index of positions for sort by (created, name, owner)
// and the order it keeps; nil for another sort.
func (l *tenantKeys) posIndex(by string) (*orderedIndex, cmpPos) {
	switch by {
	case "created":
		return &l.created, l.byCreated
	case "name":
		return &l.names, l.byName
	case "owner":
		return &l.ownerOrder, l.byOwner
	}
	return nil, nil
}

// timeIndex is l's index of times for sort by (expiration, last_used)
// and its field; nil for another sort.
func (l *tenantKeys) timeIndex(by string) (*valueIndex, *timeField) {
	switch by {
	case "expiration":
		return &l.expiry, expiryField
	case "last_used":
		return &l.lastUse, lastUseField
	}
	return nil, nil
}

func (l *tenantKeys) posView(o *orderedIndex, order cmpPos, by string) *listView {
	o.ready(len(l.keys), order)
	runs := o.runs
	v := &listView{
		pos:  func(r, i int) int32 { return runs[r][i] },
		live: func(int, int) bool { return true },
		cmp:  func(r, i, s, j int) int { return order(runs[r][i], runs[s][j]) },
		at:   func(r, i int) Position { return l.keys[runs[r][i]].position(by, time.Time{}) },
	}
	for _, run := range runs {
		v.lens = append(v.lens, len(run))
	}
	return v
}

func (l *tenantKeys) timeView(x *valueIndex, f *timeField) *listView {
	l.readyTimes(x, f)
	runs, order := x.runs, l.timeOrder(f)
	v := &listView{
		pos:  func(r, i int) int32 { return runs[r].p[i] },
		live: func(r, i int) bool { return f.key(l.keys[runs[r].p[i]]) == runs[r].v[i] },
		cmp:  func(r, i, s, j int) int { return order(runs[r].v[i], runs[r].p[i], runs[s].v[j], runs[s].p[j]) },
		at: func(r, i int) Position {
			k, n := l.keys[runs[r].p[i]], runs[r].v[i]
			if exactKey(n) {
				return Position{T: keyTime(n), ID: k.ID}
			}
			return Position{T: f.of(k), ID: k.ID} // never stale (retime)
		},
	}
	for _, run := range runs {
		v.lens = append(v.lens, run.len())
	}
	return v
}

// walk calls visit with the positions of the live entries in order (the
// reverse with desc), each once, starting past the cursor after (asc is
// the sort ascending, by which positions compare), until visit returns
// false. Each run is searched for the cursor: a page after one costs what
// the first page does.
func (v *listView) walk(desc bool, after *Position, asc string, visit func(int32) bool) {
	heads := make([]int, len(v.lens))
	for r, n := range v.lens {
		start := 0
		if after != nil {
			// The first entry past the cursor ascending (at or past it
			// descending).
			start = searchRun(n, func(i int) bool {
				c := comparePositions(v.at(r, i), *after, asc)
				return c > 0 || desc && c == 0
			})
		} else if desc {
			start = n
		}
		if heads[r] = start; desc {
			heads[r]--
		}
	}
	last := int32(-1)
	for {
		best := -1
		for r, i := range heads {
			if i < 0 || i >= v.lens[r] {
				continue
			}
			if best < 0 {
				best = r
				continue
			}
			c := v.cmp(r, i, best, heads[best])
			if desc && c > 0 || !desc && c < 0 {
				best = r
			}
		}
		if best < 0 {
			return
		}
		i := heads[best]
		if desc {
			heads[best]--
		} else {
			heads[best]++
		}
		// A key under the same value twice (a time changed and back) has
		// its entries side by side: the second is passed over.
		if p := v.pos(best, i); v.live(best, i) && p != last {
			last = p
			if !visit(p) {
				return
			}
		}
	}
}
