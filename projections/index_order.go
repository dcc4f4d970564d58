package projections

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
)

// recordOrders are a project's indexes over the fields the query API
// sorts and bounds besides name and creation (index_names.go): the owner,
// the expiration (which an update or a rotation changes) and the
// invalidation time (set once). Each orders positions of Records by the
// field, then creation, then id: the order in which a query sorted by the
// field ranks its hits, so that a page is the index's first entries.
type recordOrders struct {
	users orderedIndex // 4 bytes a key
	// expires holds one live entry a key (none: noValue, last), 12 bytes,
	// and one stale entry per change of its expiration until rebuilt.
	expires valueIndex
	// invalidated holds the invalidated keys only: 12 bytes each.
	invalidated valueIndex
	// termsInexact are the term index's fields whose postings may name a
	// record twice or no longer holding the value (a metadata array, an
	// update): their counts are no totals (countExact).
	termsInexact map[string]bool
	// inexactKnown is false after a restore: the records' arrays are
	// looked for by the first reader (inexactFields).
	inexactKnown bool
	inexactMu    sync.Mutex
}

// noValue stands for a missing date in a valueIndex: it sorts after every
// date, as a missing value does in an ascending sort.
const noValue = math.MaxInt64

func expiresOf(r *KeyRecord) int64 {
	if r.Expires == 0 {
		return noValue
	}
	return r.Expires
}

func invalidatedAtOf(r *KeyRecord) int64 {
	if !r.Invalidated {
		return noValue
	}
	return r.InvalidatedAt
}

// added indexes the record just appended at pos (a hook of create).
func (pr *projectRecords) added(pos int32) {
	pr.ord.users.add(pos, pr.byUser)
	r := pr.Records[pos]
	pr.ord.expires.add(expiresOf(r), pos, pr)
	if r.Invalidated {
		pr.ord.invalidated.add(invalidatedAtOf(r), pos, pr)
	}
	pr.ord.arrays(r)
}

// arrays marks the metadata paths where r holds several values.
func (o *recordOrders) arrays(r *KeyRecord) {
	for i := 1; i < len(r.Metadata); i++ { // leaves sorted by path: an array's are neighbours
		if r.Metadata[i].Path == r.Metadata[i-1].Path {
			o.inexact(r.Metadata[i].Path)
		}
	}
}

// inexactFields is termsInexact, after looking for arrays in every record
// when restored; a reader calls it under the owner's read lock.
func (pr *projectRecords) inexactFields() map[string]bool {
	pr.ord.inexactMu.Lock()
	defer pr.ord.inexactMu.Unlock()
	if !pr.ord.inexactKnown {
		for _, r := range pr.Records {
			pr.ord.arrays(r)
		}
		pr.ord.inexactKnown = true
	}
	return pr.ord.termsInexact
}

func (o *recordOrders) inexact(path string) {
	if o.termsInexact == nil {
		o.termsInexact = map[string]bool{}
	}
	o.termsInexact["metadata."+path] = true
}

// changed indexes the new values of the record at pos, which replaces old
// (a hook of apply): the old entry stays, stale, skipped by its readers.
func (pr *projectRecords) changed(pos int32, old, r *KeyRecord) {
	if v := expiresOf(r); v != expiresOf(old) {
		pr.ord.expires.add(v, pos, pr)
	}
	if v := invalidatedAtOf(r); r.Invalidated && v != invalidatedAtOf(old) {
		// Invalidated again (the log may say so twice), a key's time
		// moves as domain.Key's does: its old entry is stale.
		pr.ord.invalidated.add(v, pos, pr)
		if old.Invalidated && !pr.ord.invalidated.unbuilt {
			pr.ord.invalidated.stale++
		}
	}
	if !slices.Equal(r.Metadata, old.Metadata) {
		for _, l := range old.Metadata {
			pr.ord.inexact(l.Path)
		}
		for _, l := range r.Metadata {
			pr.ord.inexact(l.Path)
		}
	}
}

func (o *recordOrders) lazy() {
	o.termsInexact, o.inexactKnown = nil, false // the term index is rebuilt too
	o.users.lazy()
	o.expires.lazy()
	o.invalidated.lazy()
}

// byUser orders the project's records by owner, then creation, then id.
func (pr *projectRecords) byUser(a, b int32) int {
	ra, rb := pr.Records[a], pr.Records[b]
	if c := strings.Compare(ra.User(), rb.User()); c != 0 {
		return c
	}
	return pr.byCreated(a, b)
}

// valueIndex is an orderedIndex whose entries carry the value they were
// indexed under (value, position), for a field that changes: a change
// adds an entry under the new value, and the entry whose value the record
// no longer holds is stale, skipped by readers. A record is never
// missing from it; once stale entries outnumber the records it is
// rebuilt (lazily, by its next reader). Runs as orderedIndex's.
type valueIndex struct {
	runs    []valueRun
	entries int
	// stale counts the entries left stale, where the index does not know
	// it from entries alone (invalidated: a record has one or none).
	stale   int
	mu      sync.Mutex
	unbuilt bool
}

// valueRun is a sorted run: values and positions side by side (12 bytes
// an entry, where a struct would take 16).
type valueRun struct {
	v []int64
	p []int32
}

func (r valueRun) len() int { return len(r.p) }

// cmpEntry orders entries by value, then their records' creation and id.
func (pr *projectRecords) cmpEntry(va int64, pa int32, vb int64, pb int32) int {
	if c := cmp.Compare(va, vb); c != 0 {
		return c
	}
	return pr.byCreated(pa, pb)
}

func (x *valueIndex) add(v int64, pos int32, pr *projectRecords) {
	x.insert(v, pos, len(pr.Records), pr.cmpEntry)
}

// cmpEntries orders the entries of a valueIndex: by value, then records.
type cmpEntries func(va int64, pa int32, vb int64, pb int32) int

// insert is add for an owner of n records whose entries cmp orders (a
// project's, a tenant's keys: list_index.go).
func (x *valueIndex) insert(v int64, pos int32, n int, cmp cmpEntries) {
	if x.unbuilt {
		return
	}
	if x.entries >= 2*n+1024 {
		x.lazy() // mostly stale: the next reader rebuilds it
		return
	}
	x.entries++
	x.runs = append(x.runs, valueRun{v: []int64{v}, p: []int32{pos}})
	for n := len(x.runs); n >= 2 && x.runs[n-1].len() >= x.runs[n-2].len(); n = len(x.runs) {
		x.runs = append(x.runs[:n-2], mergeValueRuns(x.runs[n-2], x.runs[n-1], cmp))
	}
}

func mergeValueRuns(a, b valueRun, cmp cmpEntries) valueRun {
	v, p := mergePairs(a.v, a.p, b.v, b.p, cmp)
	return valueRun{v: v, p: p}
}

func (x *valueIndex) lazy() { x.runs, x.entries, x.stale, x.unbuilt = nil, 0, 0, true }

// ready builds a lazy index from the records' current values (those of
// value noValue left out when skipMissing); a reader calls it under the
// owner's read lock.
func (x *valueIndex) ready(pr *projectRecords, value func(*KeyRecord) int64, skipMissing bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.unbuilt {
		return
	}
	type entry struct {
		v int64
		p int32
	}
	all := make([]entry, 0, len(pr.Records))
	for i, r := range pr.Records {
		if v := value(r); v != noValue || !skipMissing {
			all = append(all, entry{v, int32(i)})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return pr.cmpEntry(a.v, a.p, b.v, b.p) })
	run := valueRun{v: make([]int64, len(all)), p: make([]int32, len(all))}
	for i, e := range all {
		run.v[i], run.p[i] = e.v, e.p
	}
	x.runs, x.entries, x.stale, x.unbuilt = []valueRun{run}, len(all), 0, false
}

// OrderField names a field a project's records can be read in the order
// of: "name", "username", "creation", "expiration".
type OrderField string

// ordered is a view of one index for reading it in order: its runs, the
// value of an entry, and whether the entry is live.
type ordered struct {
	lens []int
	pos  func(r, i int) int32
	// val is the entry's value: a string for keywords, a number for dates.
	val  func(r, i int) (string, int64)
	live func(r, i int) bool
	// tie orders two positions of equal value: creation, then id.
	tie cmpPos
}

// cmpVal compares the value of entry (r, i) with s, n.
func (o *ordered) cmpVal(r, i int, s string, n int64) int {
	es, en := o.val(r, i)
	if c := cmp.Compare(en, n); c != 0 {
		return c
	}
	return strings.Compare(es, s)
}

// orderOf is the view of field's index over pr, built if lazy; ok is
// false for a field not indexed. The owner's read lock is held.
func (pr *projectRecords) orderOf(field OrderField) (*ordered, bool) {
	posView := func(o *orderedIndex, cmp cmpPos, val func(r *KeyRecord) (string, int64)) *ordered {
		o.ready(len(pr.Records), cmp)
		v := &ordered{pos: func(r, i int) int32 { return o.runs[r][i] }, live: func(int, int) bool { return true }, tie: pr.byCreated}
		for _, run := range o.runs {
			v.lens = append(v.lens, len(run))
		}
		v.val = func(r, i int) (string, int64) { return val(pr.Records[o.runs[r][i]]) }
		return v
	}
	valView := func(x *valueIndex, value func(*KeyRecord) int64, skipMissing bool) *ordered {
		x.ready(pr, value, skipMissing)
		v := &ordered{pos: func(r, i int) int32 { return x.runs[r].p[i] }, tie: pr.byCreated}
		for _, run := range x.runs {
			v.lens = append(v.lens, run.len())
		}
		v.val = func(r, i int) (string, int64) { return "", x.runs[r].v[i] }
		v.live = func(r, i int) bool { return value(pr.Records[x.runs[r].p[i]]) == x.runs[r].v[i] }
		if !skipMissing && x.entries == len(pr.Records) || skipMissing && x.stale == 0 {
			v.live = func(int, int) bool { return true } // no stale entry: none to look up
		}
		return v
	}
	switch field {
	case "name":
		return posView(&pr.names, pr.byName, func(r *KeyRecord) (string, int64) { return r.Name, 0 }), true
	case "username":
		return posView(&pr.ord.users, pr.byUser, func(r *KeyRecord) (string, int64) { return r.User(), 0 }), true
	case "creation":
		return posView(&pr.created, pr.byCreated, func(r *KeyRecord) (string, int64) { return "", r.Created }), true
	case "expiration":
		return valView(&pr.ord.expires, expiresOf, false), true
	case "invalidation":
		return valView(&pr.ord.invalidated, invalidatedAtOf, true), true
	}
	return nil, false
}

// between is, for each run, the entries whose value lies in [lo, hi].
func (o *ordered) between(lo, hi int64) (from, to []int) {
	from, to = make([]int, len(o.lens)), make([]int, len(o.lens))
	for r, n := range o.lens {
		from[r] = searchRun(n, func(i int) bool { return o.cmpVal(r, i, "", lo) >= 0 })
		to[r] = searchRun(n, func(i int) bool { return o.cmpVal(r, i, "", hi) > 0 })
	}
	return from, to
}

func searchRun(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f(m) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// positions appends the positions of the live entries between from and
// to, ascending and once each.
func (o *ordered) positions(from, to []int, buf []int32) []int32 {
	start := len(buf)
	for r := range o.lens {
		for i := from[r]; i < to[r]; i++ {
			if o.live(r, i) {
				buf = append(buf, o.pos(r, i))
			}
		}
	}
	slices.Sort(buf[start:])
	return slices.Compact(buf)
}

// merge calls emit with the live entries between from and to in the
// index's order (value, creation, id), each record once, until emit
// returns false; it reports whether emit always returned true.
func (o *ordered) merge(from, to []int, emit func(int32) bool) bool {
	at := slices.Clone(from)
	last := int32(-1)
	for {
		best := -1
		for r := range at {
			if at[r] < to[r] && (best < 0 || o.less(r, at[r], best, at[best])) {
				best = r
			}
		}
		if best < 0 {
			return true
		}
		i := at[best]
		at[best]++
		if p := o.pos(best, i); o.live(best, i) && p != last {
			if last = p; !emit(p) {
				return false
			}
		}
	}
}

// less orders entries (r, i) and (s, j) as the index does. Entries of
// equal value are ordered by their records' creation and id: pos'
// comparison stands for it only within a run, so across runs the value is
// compared, then the positions' records.
func (o *ordered) less(r, i, s, j int) bool {
	as, an := o.val(r, i)
	bs, bn := o.val(s, j)
	if c := cmp.Compare(an, bn); c != 0 {
		return c < 0
	}
	if c := strings.Compare(as, bs); c != 0 {
		return c < 0
	}
	return o.tie(o.pos(r, i), o.pos(s, j)) < 0
}
