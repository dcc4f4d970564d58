package projections

import (
	"math"
	mathbits "math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// OrderCursor is where a read in order resumes: after every record whose
// value is at or before it (search_after). S for keywords, N for dates;
// Missing for no value, after which nothing comes.
type OrderCursor struct {
	S       string
	N       int64
	Missing bool
}

// OrderRead asks RecordsInOrder for the first K records in the order of
// Field (name, username, creation, expiration), values ascending or
// descending (Desc), ties by creation then id, records without the field
// last: the order in which a query sorted by that field alone ranks its
// hits. With After, only the records whose value comes after it.
//
// Only, when set, is the whole query: Keep (the compiled query) keeps
// exactly the records the index of Only holds, whose exact count is the
// total. Else the query is match_all and the total the project's size.
type OrderRead struct {
	Field OrderField
	Desc  bool
	After *OrderCursor
	K     int
	Only  *IndexSource
	Keep  func(*KeyRecord) bool
	// Ties is for a sort by further fields: every record tied with the
	// K-th on Field comes too (the caller orders them), and the records of
	// After's value come (Keep must leave out those the further fields
	// put before it).
	Ties bool
}

// maxOrderRead bounds the records a filtered read in order tests beyond
// its page (some milliseconds under the index's read lock).
const maxOrderRead = 1 << 14

// RecordsInOrder appends to buf the records rd asks for and returns the
// total; ok is false when it cannot answer from the index (a field not
// indexed, an Only not counted exactly or too rare to meet within a short
// read: the caller reads the candidates instead). The work follows K (over
// Only's share of the project), not the project.
func (ix *KeyIndex) RecordsInOrder(t domain.TenantID, pr domain.ProjectID, rd OrderRead, buf []*KeyRecord) ([]*KeyRecord, int, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf, 0, rd.Only == nil
	}
	o, ok := p.orderOf(rd.Field)
	if !ok || rd.Field == "invalidation" {
		return buf, 0, false
	}
	total := len(p.Records)
	w := orderWalk{after: rd.After, desc: rd.Desc, inclusive: rd.Ties, limit: math.MaxInt, stop: math.MaxInt}
	// The read starts and stops at the prefix or range of the field read
	// that every match holds, if any (seek): w.stop entries at most.
	missing := w.after != nil && w.after.Missing
	if !missing {
		w.after, w.inclusive, w.stop = o.seek(rd.Only, rd.Field, w.after, w.inclusive, w.desc)
	}
	if rd.Only != nil {
		if total, w.only, ok = p.countOnly(*rd.Only, rd.K, min(w.stop, len(p.Records))); !ok {
			return buf, 0, false
		}
		defer putBits(w.only)
	}
	if missing { // only records without the field come after
		if !rd.Ties || rd.Field != "expiration" {
			return buf, total, true
		}
		w.after, w.desc = &OrderCursor{N: noValue}, false
		w.after, w.inclusive, w.stop = o.seek(rd.Only, rd.Field, w.after, w.inclusive, w.desc)
	}
	// span is how many entries the read can meet.
	span := min(w.stop, len(p.Records))
	if rd.Only != nil || rd.Ties {
		// Reading in order meets a match every span/total entries: worth
		// it while that reads fewer than the matches; give up past four
		// times the expected length (the matches may be bunched late, or
		// the ties many), or past maxOrderRead: the query runs under the
		// read lock, folds wait. A read that meets a prefix's entries
		// only is over after them.
		expect := (rd.K*span)/max(total, 1) + 16
		if expect > total && rd.Only != nil && w.stop > maxOrderRead {
			return buf, 0, false
		}
		w.limit = min(4*expect, maxOrderRead+rd.K)
		if w.stop <= maxOrderRead {
			w.limit = max(w.limit, w.stop)
		}
	}
	if rd.K <= 0 || total == 0 || w.stop == 0 {
		return buf, total, true
	}
	start := len(buf)
	buf, read := p.readInOrder(o, rd, w, buf)
	if read > w.limit {
		clear(buf[start:])
		return buf[:start], 0, false
	}
	return buf, total, true
}

// orderWalk is how RecordsInOrder reads an index: from after (at it when
// inclusive), values descending with desc, giving up past limit entries,
// done after stop. only, when set, has the bits of Only's records: the
// others are passed over without being looked at.
type orderWalk struct {
	only        []uint64
	after       *OrderCursor
	desc        bool
	inclusive   bool
	limit, stop int
}

// readInOrder appends the records rd keeps, met in o's order as w says,
// until it has K (and, with Ties, every one tied with the K-th); read is
// how many it met, limit+1 when it gave up.
func (p *projectRecords) readInOrder(o *ordered, rd OrderRead, w orderWalk, buf []*KeyRecord) (_ []*KeyRecord, read int) {
	n := 0
	var edge *KeyRecord // the K-th, with Ties
	o.walk(w.desc, w.after, w.inclusive, rd.Field == "expiration", func(pos int32) bool {
		if read++; read > w.limit {
			return false
		}
		kept := w.only == nil || w.only[pos>>6]&(1<<(pos&63)) != 0
		if !kept && edge == nil {
			return read < w.stop
		}
		r := p.Records[pos]
		if edge != nil && !sameValue(rd.Field, r, edge) {
			read-- // met past the ties: not read for the answer
			return false
		}
		if !kept {
			return read < w.stop
		}
		if rd.Keep == nil || rd.Keep(r) {
			buf = append(buf, r)
			if n++; n == rd.K && rd.Ties {
				edge = r
			}
		}
		return (rd.Ties || n < rd.K) && read < w.stop
	})
	return buf, read
}

// seek narrows a read of field's index in order to the entries of the
// prefix or range of that field that only requires: the cursor and
// inclusiveness it starts from and how many entries it meets
// (math.MaxInt: every one after the cursor).
func (o *ordered) seek(only *IndexSource, field OrderField, after *OrderCursor, inclusive, desc bool) (*OrderCursor, bool, int) {
	if pfx, ok := onlyPrefix(only, field); ok {
		return o.seekPrefix(pfx, after, inclusive, desc)
	}
	if lo, hi, ok := onlyRange(only, field); ok {
		return o.seekRange(lo, hi, after, inclusive, desc)
	}
	return after, inclusive, math.MaxInt
}

// onlyPrefix is the longest name (or username) prefix Only requires, when
// field is that field.
func onlyPrefix(only *IndexSource, field OrderField) (string, bool) {
	if only == nil || field != "name" && field != "username" {
		return "", false
	}
	srcs := []IndexSource{*only}
	if only.Kind == ByAll {
		srcs = only.Any
	}
	pfx, ok := "", false
	for _, s := range srcs {
		if s.Kind == ByPrefix && s.Field == string(field) && (!ok || len(s.Prefix) > len(pfx)) {
			pfx, ok = s.Prefix, true
		}
	}
	return pfx, ok
}

// seekPrefix narrows a read of a keyword index in order, from after (at
// it when inclusive), to the entries starting with pfx: the cursor and
// inclusiveness it starts from, and how many entries it meets before it
// leaves them (none of its matches come after).
func (o *ordered) seekPrefix(pfx string, after *OrderCursor, inclusive, desc bool) (*OrderCursor, bool, int) {
	end, bounded := prefixEnd(pfx)
	switch {
	case !desc && (after == nil || after.S < pfx):
		after, inclusive = &OrderCursor{S: pfx}, true
	case desc && bounded && (after == nil || after.S >= end):
		after, inclusive = &OrderCursor{S: end}, false
	}
	at := func(r, i int) bool { // the entry is where the read starts, or past it
		c := o.cmpVal(r, i, after.S, 0)
		return c > 0 || inclusive && c == 0
	}
	n := 0
	for r, size := range o.lens {
		lo, hi := 0, size
		if !desc {
			lo = searchRun(size, func(i int) bool { return at(r, i) })
			if bounded {
				hi = searchRun(size, func(i int) bool { return o.cmpVal(r, i, end, 0) >= 0 })
			}
		} else {
			lo = searchRun(size, func(i int) bool { return o.cmpVal(r, i, pfx, 0) >= 0 })
			if after != nil {
				hi = searchRun(size, func(i int) bool { c := o.cmpVal(r, i, after.S, 0); return c > 0 || !inclusive && c == 0 })
			}
		}
		n += max(hi-lo, 0)
	}
	return after, inclusive, n
}

// onlyRange is the narrowest range of a date field Only requires (an
// existence is one of every date), when field is that field. Only is
// counted exactly: its index holds no stale entry.
func onlyRange(only *IndexSource, field OrderField) (lo, hi int64, ok bool) {
	if only == nil || !isDate(string(field)) {
		return 0, 0, false
	}
	srcs := []IndexSource{*only}
	if only.Kind == ByAll {
		srcs = only.Any
	}
	lo, hi = math.MinInt64, noValue-1 // no value is in no range
	for _, s := range srcs {
		if s.Field != string(field) || s.Kind != ByRange && s.Kind != ByExists {
			continue
		}
		if ok = true; s.Kind == ByRange {
			lo, hi = max(lo, s.Lo), min(hi, s.Hi)
		}
	}
	return lo, hi, ok
}

// seekRange narrows a read of a date index in order, from after (at it
// when inclusive), to the entries in [lo, hi], as seekPrefix.
func (o *ordered) seekRange(lo, hi int64, after *OrderCursor, inclusive, desc bool) (*OrderCursor, bool, int) {
	switch {
	case lo > hi:
		return after, inclusive, 0
	case !desc && (after == nil || after.N < lo):
		after, inclusive = &OrderCursor{N: lo}, true
	case desc && (after == nil || after.N > hi):
		after, inclusive = &OrderCursor{N: hi}, true
	}
	n := 0
	for r, size := range o.lens {
		from := searchRun(size, func(i int) bool { return o.cmpVal(r, i, "", lo) >= 0 })
		to := searchRun(size, func(i int) bool { return o.cmpVal(r, i, "", hi) > 0 })
		if !desc {
			from = max(from, searchRun(size, func(i int) bool { c := o.cmpVal(r, i, "", after.N); return c > 0 || inclusive && c == 0 }))
		} else {
			to = min(to, searchRun(size, func(i int) bool { c := o.cmpVal(r, i, "", after.N); return c > 0 || !inclusive && c == 0 }))
		}
		n += max(to-from, 0)
	}
	return after, inclusive, n
}

// prefixEnd is the least string above every string starting with pfx;
// bounded is false when there is none (pfx is only 0xff bytes).
func prefixEnd(pfx string) (string, bool) {
	for i := len(pfx) - 1; i >= 0; i-- {
		if pfx[i] != 0xff {
			return pfx[:i] + string([]byte{pfx[i] + 1}), true
		}
	}
	return "", false
}

// countOnly counts the records of s exactly (countExact) and gives their
// bitmap when it counted on one (ByAll, ByUnion). ok is false when it
// cannot, or when making the bitmap and then reading span entries in
// order for k matches would cost more than gathering and testing the
// records of s's fewest source (Candidates): a conjunction of a few
// records with a range of most of the project, or of two sources whose
// common records are too rare to meet soon in order.
func (p *projectRecords) countOnly(s IndexSource, k, span int) (int, []uint64, bool) {
	switch s.Kind {
	case ByAll:
		in, out, fewest, work, est, ok := p.allSources(s.Any, s.Not)
		if !ok {
			return 0, nil, false
		}
		// Per record, about: 2 ns to set a bit, 40 to meet an entry
		// reading in order, 100 to test a gathered candidate.
		expect := min(float64(k)*float64(span)/max(est, 1), float64(span))
		if float64(2*work+len(p.Records)/64)+40*expect > 100*float64(fewest) {
			return 0, nil, false
		}
		bits := p.allBits(in, out)
		return popCount(bits), bits, true
	case ByUnion:
		bits, ok := p.bitsOf(s.Any)
		return popCount(bits), bits, ok
	}
	n, ok := p.countExact(s)
	return n, nil, ok
}

// sameValue reports whether a and b hold the same value of field.
func sameValue(field OrderField, a, b *KeyRecord) bool {
	switch field {
	case "name":
		return a.Name == b.Name
	case "username":
		return a.User() == b.User()
	case "creation":
		return a.Created == b.Created
	}
	return expiresOf(a) == expiresOf(b)
}

// countExact is the number of records source s holds, when its index
// counts them exactly (no stale entry, no record twice); ok is false else.
func (p *projectRecords) countExact(s IndexSource) (int, bool) {
	switch {
	case s.Kind == ByAll:
		return p.allCount(s.Any, s.Not)
	case s.Kind == ByUnion:
		return p.unionCount(s.Any)
	case s.Kind == ByFewest || s.Kind == ByIDs || s.Field == "metadata": // a record may be in several, or is not counted exactly
		return 0, false
	case s.Kind == ByTerms || s.Kind == ByValues || s.Kind == ByExists && strings.HasPrefix(s.Field, "metadata."):
		if p.inexactFields()[s.Field] {
			return 0, false
		}
	case s.Field == "expiration":
		p.ord.expires.ready(p, expiresOf, false)
		if p.ord.expires.entries != len(p.Records) {
			return 0, false // stale entries: their records may be out of range
		}
	case s.Field == "invalidation":
		p.ord.invalidated.ready(p, invalidatedAtOf, true)
		if p.ord.invalidated.stale > 0 {
			return 0, false // a key invalidated again: its first entry is stale
		}
	}
	if s.Kind == ByRange || s.Kind == ByExists && isDate(s.Field) {
		// A date of 0 is none to a query, an entry to the index.
		if zero, _, _ := p.source(IndexSource{Kind: ByRange, Field: s.Field}); zero > 0 {
			return 0, false
		}
	}
	n, _, ok := p.source(s)
	return n, ok
}

// walk calls emit with the index's live entries in order, values
// descending with desc (ties still ascending by creation and id), after
// the cursor's value when set (or at it, inclusive), until emit returns
// false. With
// missingLast, entries of value noValue (no value) come last in both
// directions.
func (o *ordered) walk(desc bool, after *OrderCursor, inclusive, missingLast bool, emit func(int32) bool) {
	// past is whether entry (r, i) lies past the cursor in the order read
	// (ascending), or at it when inclusive.
	past := func(r, i int) bool {
		c := o.cmpVal(r, i, after.S, after.N)
		return c > 0 || inclusive && c == 0
	}
	// excluded is whether a descending read leaves entry (r, i) out: at or
	// above the cursor, or above it only when inclusive.
	excluded := func(r, i int) bool {
		c := o.cmpVal(r, i, after.S, after.N)
		return !(c < 0 || inclusive && c == 0)
	}
	if !desc {
		from := make([]int, len(o.lens))
		if after != nil {
			for r, n := range o.lens {
				from[r] = searchRun(n, func(i int) bool { return past(r, i) })
			}
		}
		o.merge(from, o.lens, emit)
		return
	}
	hi, missing := slices.Clone(o.lens), slices.Clone(o.lens)
	for r, n := range o.lens {
		if missingLast {
			missing[r] = searchRun(n, func(i int) bool { return o.cmpVal(r, i, "", noValue) >= 0 })
			hi[r] = missing[r]
		}
		if after != nil {
			hi[r] = min(hi[r], searchRun(n, func(i int) bool { return excluded(r, i) }))
		}
	}
	// Read from the end one value at a time, each value's entries forward:
	// the largest value first, its records by creation.
	lo := make([]int, len(o.lens))
	for {
		top := -1
		for r := range hi {
			if hi[r] == 0 {
				continue
			}
			if top < 0 {
				top = r
			} else if ts, tn := o.val(top, hi[top]-1); o.cmpVal(r, hi[r]-1, ts, tn) > 0 {
				top = r
			}
		}
		if top < 0 {
			break
		}
		s, n := o.val(top, hi[top]-1)
		for r := range hi {
			lo[r] = searchRun(hi[r], func(i int) bool { return o.cmpVal(r, i, s, n) >= 0 })
		}
		if !o.merge(lo, hi, emit) {
			return
		}
		copy(hi, lo)
	}
	if missingLast {
		o.merge(missing, o.lens, emit)
	}
}

// SourceKind is the kind of index an IndexSource reads.
type SourceKind int

const (
	// ByPrefix reads the name index for the names starting with Prefix.
	ByPrefix SourceKind = iota + 1
	// ByTerms reads the term index for Field holding one of Values.
	ByTerms
	// ByRange reads the index of a date Field (creation, expiration,
	// invalidation) for values in [Lo, Hi].
	ByRange
	// ByExists reads the records holding Field: a metadata path (term
	// index) or a date (expiration, invalidation).
	ByExists
	// ByUnion reads the records of any of Any (each must be indexed).
	ByUnion
	// ByValues reads the term index for Field holding a value Match
	// accepts (each of the field's distinct values is tested).
	ByValues
	// ByFewest reads the one of Any (those indexed) holding the fewest.
	ByFewest
	// ByIDs looks up the records of the ids Values.
	ByIDs
	// ByAll is the records of every one of Any and of none of Not: only
	// counted (OrderRead.Only), never read as candidates.
	ByAll
)

// IndexSource is one index a query's candidates can come from: every record
// the query matches is among them.
type IndexSource struct {
	Kind   SourceKind
	Field  string
	Prefix string
	Values []string
	Lo, Hi int64
	Any    []IndexSource
	Not    []IndexSource
	Match  func(string) bool
}

// Candidates appends to buf the records of the source, among sources,
// that holds the fewest (each counted from its index without reading the
// records), in creation order as Records gives them, and which source it
// was. When none applies (a field not indexed), or the fewest are more
// than half the project (reading every record in order is then cheaper
// than gathering them), it appends every record, as Records, and -1.
func (ix *KeyIndex) Candidates(t domain.TenantID, pr domain.ProjectID, sources []IndexSource, buf []*KeyRecord) ([]*KeyRecord, int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf, -1
	}
	best, fewest := -1, 0
	var reads []func([]int32) []int32
	for i, s := range sources {
		n, read, ok := p.source(s)
		reads = append(reads, read)
		if ok && (best < 0 || n < fewest) {
			best, fewest = i, n
		}
	}
	if best < 0 || fewest > len(p.Records)/2 {
		return append(buf, p.Records...), -1
	}
	pb := positionBufs.Get().(*[]int32)
	pos := reads[best]((*pb)[:0])
	for _, i := range pos {
		buf = append(buf, p.Records[i])
	}
	*pb = pos[:0]
	positionBufs.Put(pb)
	return buf, best
}

// source counts the entries s reads (an upper bound of its records) and
// gives the reader of its positions; ok is false when no index holds it.
func (p *projectRecords) source(s IndexSource) (int, func([]int32) []int32, bool) {
	switch s.Kind {
	case ByPrefix:
		o, get, ok := p.keywordOrder(s.Field)
		if !ok {
			return 0, nil, false
		}
		from, to := o.prefixBounds(s.Prefix, get)
		n := 0
		for r := range from {
			n += to[r] - from[r]
		}
		return n, func(buf []int32) []int32 { // in position order, as a scan meets them
			start := len(buf)
			for r, run := range o.runs {
				buf = append(buf, run[from[r]:to[r]]...)
			}
			slices.Sort(buf[start:])
			return buf
		}, true
	case ByTerms:
		switch s.Field {
		case "metadata":
			return p.anyMetadataSource(s.Values)
		case "name", "username": // their ordered indexes: never a field dropped
			return p.equalSource(s.Field, s.Values)
		}
		return p.termSource(s.Field, s.Values)
	case ByUnion:
		return p.unionSource(s.Any)
	case ByValues:
		return p.valuesSource(s.Field, s.Match)
	case ByFewest:
		best, fewest := -1, 0
		var read func([]int32) []int32
		for i, sub := range s.Any {
			if n, r, ok := p.source(sub); ok && (best < 0 || n < fewest) {
				best, fewest, read = i, n, r
			}
		}
		return fewest, read, best >= 0
	case ByIDs:
		var pos []int32
		for _, id := range s.Values {
			if i, ok := p.position(domain.KeyID(id)); ok {
				pos = append(pos, int32(i))
			}
		}
		return len(pos), func(buf []int32) []int32 {
			start := len(buf)
			buf = append(buf, pos...)
			slices.Sort(buf[start:])
			return slices.Compact(buf)
		}, true
	case ByExists:
		if strings.HasPrefix(s.Field, "metadata.") {
			return p.termSource(s.Field, nil)
		}
		s.Lo, s.Hi = math.MinInt64, math.MaxInt64
		fallthrough
	case ByRange:
		if !isDate(s.Field) {
			return 0, nil, false
		}
		if s.Lo > s.Hi {
			return 0, func(buf []int32) []int32 { return buf }, true
		}
		o, _ := p.orderOf(OrderField(s.Field))
		from, to := o.between(s.Lo, min(s.Hi, noValue-1)) // noValue is no date: not in any range
		n := 0
		for r := range from {
			n += to[r] - from[r]
		}
		return n, func(buf []int32) []int32 { return o.positions(from, to, buf) }, true
	}
	return 0, nil, false
}

// termSource reads field's term index for values (every value when nil).
func (p *projectRecords) termSource(field string, values []string) (int, func([]int32) []int32, bool) {
	p.terms.ready(p.Records)
	if w := p.terms.wide[field]; w != nil { // too many values for postings: sorted instead
		n, read := w.equal(values)
		return n, read, true
	}
	if values == nil {
		for v := range p.terms.fields[field] {
			values = append(values, v)
		}
	} else {
		values = slices.Compact(slices.Sorted(slices.Values(values))) // a value named twice counts once
	}
	n := 0
	for _, v := range values {
		n += len(p.terms.fields[field][v])
	}
	return n, func(buf []int32) []int32 { buf, _ = p.terms.positions(field, values, buf); return buf }, true
}

// unionCount counts the records of any of sources, each exact, once each:
// a bit a record, set from their positions (no record is read).
func (p *projectRecords) unionCount(sources []IndexSource) (int, bool) {
	bits, ok := p.bitsOf(sources)
	defer putBits(bits)
	return popCount(bits), ok
}

// allCount counts the records of every one of all and none of not, each
// exact, on bitmaps of their positions. A source of every record, or of
// none, changes nothing and is not read.
func (p *projectRecords) allCount(all, not []IndexSource) (int, bool) {
	in, out, _, _, _, ok := p.allSources(all, not)
	if !ok {
		return 0, false
	}
	bits := p.allBits(in, out)
	defer putBits(bits)
	return popCount(bits), true
}

// allSources are the sources of all and not that allCount reads (in, out),
// when each is exact: fewest is the fewest records one of in holds (every
// record when none), work the entries of in and out together, est the
// records of all and none of not were the sources independent.
func (p *projectRecords) allSources(all, not []IndexSource) (in, out []IndexSource, fewest, work int, est float64, ok bool) {
	size := float64(len(p.Records))
	fewest, est = len(p.Records), size
	for _, s := range all {
		n, ok := p.countExact(s)
		switch {
		case !ok:
			return nil, nil, 0, 0, 0, false
		case n < len(p.Records):
			in, fewest, work = append(in, s), min(fewest, n), work+n
			est *= float64(n) / size
		}
	}
	for _, s := range not {
		n, ok := p.countExact(s)
		switch {
		case !ok:
			return nil, nil, 0, 0, 0, false
		case n > 0:
			out, work = append(out, s), work+n
			est *= 1 - float64(n)/size
		}
	}
	return in, out, fewest, work, est, true
}

// allBits is the bitmap of the records of every one of in and none of
// out, each exact.
func (p *projectRecords) allBits(in, out []IndexSource) []uint64 {
	var bits []uint64
	for i, s := range in {
		b, _ := p.bitsOf([]IndexSource{s})
		if i == 0 {
			bits = b
			continue
		}
		for w := range bits {
			bits[w] &= b[w]
		}
		putBits(b)
	}
	if len(in) == 0 {
		bits = getBits(len(p.Records))
		for w := range bits {
			bits[w] = ^uint64(0)
		}
		if tail := len(p.Records) % 64; tail != 0 {
			bits[len(bits)-1] = 1<<tail - 1
		}
	}
	if len(out) > 0 {
		b, _ := p.bitsOf(out)
		for w := range bits {
			bits[w] &^= b[w]
		}
		putBits(b)
	}
	return bits
}

// bitsOf sets a bit for each record of any of sources, each exact; ok is
// false when one is not.
func (p *projectRecords) bitsOf(sources []IndexSource) ([]uint64, bool) {
	for _, s := range sources {
		if _, ok := p.countExact(s); !ok {
			return nil, false
		}
	}
	bits := getBits(len(p.Records))
	buf := positionBufs.Get().(*[]int32)
	pos := (*buf)[:0]
	for _, s := range sources {
		pos = p.exactPositions(s, pos[:0])
		for _, i := range pos {
			bits[i>>6] |= 1 << (i & 63)
		}
	}
	*buf = pos[:0]
	positionBufs.Put(buf)
	return bits, true
}

// bitmaps and positionBufs are the scratch space of counts on bitmaps:
// at a million keys a bitmap is 125 KB and a term's positions some
// hundreds, which a query should not leave to the collector each time.
var (
	bitmaps      sync.Pool
	positionBufs = sync.Pool{New: func() any { return new([]int32) }}
)

// getBits is a zeroed bitmap of n bits, pooled.
func getBits(n int) []uint64 {
	words := (n + 63) / 64
	if b, ok := bitmaps.Get().(*[]uint64); ok && cap(*b) >= words {
		bits := (*b)[:words]
		clear(bits)
		return bits
	}
	return make([]uint64, words)
}

// putBits gives a bitmap of getBits back (nil is left alone).
func putBits(bits []uint64) {
	if bits != nil {
		bitmaps.Put(&bits)
	}
}

// exactPositions appends the positions of the records of s, which
// countExact counts (its entries are its records, each live), in any
// order: a name prefix's and a date range's without looking at a record.
func (p *projectRecords) exactPositions(s IndexSource, buf []int32) []int32 {
	switch {
	case s.Kind == ByPrefix:
		if o, get, ok := p.keywordOrder(s.Field); ok {
			from, to := o.prefixBounds(s.Prefix, get)
			for r, run := range o.runs {
				buf = append(buf, run[from[r]:to[r]]...)
			}
			return buf
		}
	case (s.Kind == ByRange || s.Kind == ByExists) && isDate(s.Field):
		lo, hi := s.Lo, s.Hi
		if s.Kind == ByExists {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		if lo > hi {
			return buf
		}
		o, _ := p.orderOf(OrderField(s.Field))
		from, to := o.between(lo, min(hi, noValue-1))
		for r := range from {
			for i := from[r]; i < to[r]; i++ {
				buf = append(buf, o.pos(r, i))
			}
		}
		return buf
	}
	_, read, _ := p.source(s)
	return read(buf)
}

func popCount(bits []uint64) int {
	n := 0
	for _, w := range bits {
		n += mathbits.OnesCount64(w)
	}
	return n
}

// keywordOrder is the ordered index of a keyword field that never
// changes (name, username) and its reader; ok is false for other fields.
func (p *projectRecords) keywordOrder(field string) (*orderedIndex, func(int32) string, bool) {
	switch field {
	case "name":
		p.names.ready(len(p.Records), p.byName)
		return &p.names, func(i int32) string { return p.Records[i].Name }, true
	case "username":
		p.ord.users.ready(len(p.Records), p.byUser)
		return &p.ord.users, func(i int32) string { return p.Records[i].User() }, true
	}
	return nil, nil, false
}

// equalSource reads a keyword field's ordered index for the records
// holding one of values.
func (p *projectRecords) equalSource(field string, values []string) (int, func([]int32) []int32, bool) {
	o, get, ok := p.keywordOrder(field)
	if !ok {
		return 0, nil, false
	}
	values = slices.Compact(slices.Sorted(slices.Values(values)))
	equal := func(run []int32, v string) (from, to int) {
		from = searchRun(len(run), func(i int) bool { return get(run[i]) >= v })
		to = searchRun(len(run), func(i int) bool { return get(run[i]) > v })
		return from, to
	}
	n := 0
	for _, run := range o.runs {
		for _, v := range values {
			from, to := equal(run, v)
			n += to - from
		}
	}
	return n, func(buf []int32) []int32 {
		start := len(buf)
		for _, run := range o.runs {
			for _, v := range values {
				from, to := equal(run, v)
				buf = append(buf, run[from:to]...)
			}
		}
		slices.Sort(buf[start:])
		return buf
	}, true
}

// unionSource reads every one of sources, when each is indexed.
func (p *projectRecords) unionSource(sources []IndexSource) (int, func([]int32) []int32, bool) {
	total := 0
	reads := make([]func([]int32) []int32, len(sources))
	for i, s := range sources {
		n, read, ok := p.source(s)
		if !ok {
			return 0, nil, false
		}
		total, reads[i] = total+n, read
	}
	return total, func(buf []int32) []int32 {
		start := len(buf)
		for _, read := range reads {
			buf = read(buf)
		}
		slices.Sort(buf[start:])
		return slices.Compact(buf)
	}, true
}

// valuesSource reads field's term index (any metadata key's for
// "metadata") for the values match accepts.
func (p *projectRecords) valuesSource(field string, match func(string) bool) (int, func([]int32) []int32, bool) {
	p.terms.ready(p.Records)
	var any []IndexSource
	for f, values := range p.terms.fields {
		if f != field && (field != "metadata" || !strings.HasPrefix(f, "metadata.")) {
			continue
		}
		src := IndexSource{Kind: ByTerms, Field: f}
		for v := range values {
			if match(v) {
				src.Values = append(src.Values, v)
			}
		}
		if src.Values != nil { // nil would be every value
			any = append(any, src)
		}
	}
	for f := range p.terms.wide {
		if f == field || field == "metadata" && strings.HasPrefix(f, "metadata.") {
			return 0, nil, false
		}
	}
	return p.unionSource(any)
}

// anyMetadataSource reads the records holding one of values at any
// metadata path: the union of every metadata field's term index, when
// none is over maxTermsPerField.
func (p *projectRecords) anyMetadataSource(values []string) (int, func([]int32) []int32, bool) {
	p.terms.ready(p.Records)
	var any []IndexSource
	add := func(f string) {
		if strings.HasPrefix(f, "metadata.") {
			any = append(any, IndexSource{Kind: ByTerms, Field: f, Values: values})
		}
	}
	for f := range p.terms.fields {
		add(f)
	}
	for f := range p.terms.wide {
		add(f)
	}
	return p.unionSource(any)
}

// countPrefixed counts the positions whose field starts with p.
func (o *orderedIndex) countPrefixed(p string, field func(int32) string) int {
	from, to := o.prefixBounds(p, field)
	n := 0
	for r := range from {
		n += to[r] - from[r]
	}
	return n
}

// prefixBounds is, for each run, where the positions whose field starts
// with p lie: two binary searches, no record read between.
func (o *orderedIndex) prefixBounds(p string, field func(int32) string) (from, to []int) {
	from, to = make([]int, len(o.runs)), make([]int, len(o.runs))
	for r, run := range o.runs {
		from[r] = searchRun(len(run), func(i int) bool { return field(run[i]) >= p })
		to[r] = searchRun(len(run), func(i int) bool { f := field(run[i]); return f >= p && !strings.HasPrefix(f, p) })
	}
	return from, to
}

func isDate(field string) bool {
	return field == "creation" || field == "expiration" || field == "invalidation"
}
