package projections

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// A project's indexes in the key index's snapshot (keyindex@3), after its
// records: a restart reads its orders back instead of sorting a project's
// names, owners and dates again on the first query (about half a second
// each at a million keys, under the project's lock). Only live entries
// are written (a stale one, left by a change, is dropped), so a restored
// index is the one a build from the records would give:
//
//	names, creation, owner: every position in the order, 4 bytes each
//	expiration: every position in the order (the values are the records')
//	invalidation: the invalidated records' positions in the order
//	terms: per field, by name: a tag (termsNarrow, termsWide), then
//	  narrow: per value: the value and its positions, ascending, as gaps
//	  wide: its entries in (value, position) order: a position and the
//	    number of the record's metadata leaf holding the value
const (
	termsNarrow = 0
	termsWide   = 1
)

// indexView is what a snapshot writes of a project: a copy of its record
// pointers and of its indexes' run headers and postings, taken under the
// index's read lock (view), then written without it (a record, a run and
// a posting's first entries never change once made: a change makes new
// ones), so that folds wait for the copy, not for the writing.
type indexView struct {
	id                    domain.ProjectID
	pr                    *projectRecords // the copy: its records, for the orders' comparisons
	names, created, users [][]int32
	expires, invalidated  []valueRun
	narrow                map[string]map[string][]int32
	wide                  map[string][]wideRun
}

// view copies pr's state for a snapshot, building first any index a
// restore of an older snapshot or a key created again left to its first
// reader. The index's read lock is held: readers build the same way.
func (pr *projectRecords) view(id domain.ProjectID) *indexView {
	pr.ready()
	v := &indexView{id: id, pr: &projectRecords{Tenant: pr.Tenant, Records: slices.Clone(pr.Records)},
		names: slices.Clone(pr.names.runs), created: slices.Clone(pr.created.runs), users: slices.Clone(pr.ord.users.runs),
		expires: slices.Clone(pr.ord.expires.runs), invalidated: slices.Clone(pr.ord.invalidated.runs),
		narrow: make(map[string]map[string][]int32, len(pr.terms.fields)), wide: make(map[string][]wideRun, len(pr.terms.wide))}
	for f, values := range pr.terms.fields {
		c := make(map[string][]int32, len(values))
		for val, ps := range values {
			c[val] = ps[:len(ps):len(ps)] // a fold appends past it
		}
		v.narrow[f] = c
	}
	for f, x := range pr.terms.wide {
		v.wide[f] = slices.Clone(x.runs)
	}
	return v
}

// ready builds every index of pr left to its first reader; the index's
// read lock is held.
func (pr *projectRecords) ready() {
	n := len(pr.Records)
	pr.names.ready(n, pr.byName)
	pr.created.ready(n, pr.byCreated)
	pr.ord.users.ready(n, pr.byUser)
	pr.ord.expires.ready(pr, expiresOf, false)
	pr.ord.invalidated.ready(pr, invalidatedAtOf, true)
	pr.terms.ready(pr.Records)
}

// indexes writes v's indexes. What is written follows from the records
// alone, not from the changes that led to them (stale entries are
// dropped, a field is narrow or wide by the values its records hold now),
// so that a replica's digest equals a replay's.
func (w *writer) indexes(v *indexView) {
	w.order(v.names, v.pr.byName)
	w.order(v.created, v.pr.byCreated)
	w.order(v.users, v.pr.byUser)
	w.values(v.pr, v.expires, expiresOf)
	w.values(v.pr, v.invalidated, invalidatedAtOf)
	fields := slices.AppendSeq(slices.Collect(maps.Keys(v.narrow)), maps.Keys(v.wide))
	slices.Sort(fields)
	var entries []termEntry
	for _, f := range fields {
		entries = v.liveTerms(f, entries[:0])
		values := 0
		for i := range entries {
			if i == 0 || entries[i].v != entries[i-1].v {
				values++
			}
		}
		if values == 0 {
			continue
		}
		w.str(f)
		if values > maxTermsPerField {
			w.buf = append(w.buf, termsWide)
			w.wideTerms(entries)
		} else {
			w.buf = append(w.buf, termsNarrow)
			w.narrowTerms(entries, values)
		}
	}
	w.str("") // no field is named so: the end of the fields
}

// order writes an order's positions: its runs merged two at a time from
// the smallest (their sizes halve, so about two moves a position).
func (w *writer) order(runs [][]int32, cmp cmpPos) {
	var ps []int32
	for i := len(runs) - 1; i >= 0; i-- {
		ps = mergeRuns(runs[i], ps, cmp)
	}
	w.positionList(ps)
}

// values writes a value index's live entries' positions in its order,
// each record once.
func (w *writer) values(pr *projectRecords, runs []valueRun, value func(*KeyRecord) int64) {
	var all valueRun
	for i := len(runs) - 1; i >= 0; i-- {
		all = mergeValueRuns(runs[i], all, pr.cmpEntry)
	}
	ps := all.p[:0] // filtered in place
	for i, p := range all.p {
		if value(pr.Records[p]) == all.v[i] && (len(ps) == 0 || ps[len(ps)-1] != p) {
			ps = append(ps, p)
		}
	}
	w.positionList(ps)
}

// positionList writes ps as 4 bytes each: a million read back in
// milliseconds, without a varint each.
func (w *writer) positionList(ps []int32) {
	w.uint(uint64(len(ps)))
	w.buf = slices.Grow(w.buf, 4*len(ps))
	for _, p := range ps {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(p))
	}
}

// termEntry is a record at p holding value v in a term field, in its
// metadata leaf leaf (0 for a field not of metadata).
type termEntry struct {
	v       string
	p, leaf int32
}

// liveTerms appends field's entries whose records still hold their value,
// in (value, position) order, each once.
func (v *indexView) liveTerms(field string, buf []termEntry) []termEntry {
	keep := func(val string, p int32) {
		if leaf := holds(v.pr.Records[p], field, val); leaf >= 0 {
			buf = append(buf, termEntry{val, p, int32(leaf)})
		}
	}
	if runs, ok := v.wide[field]; ok {
		all := wideRun{}
		for i := len(runs) - 1; i >= 0; i-- { // from the smallest, as order
			all = mergeWide(runs[i], all)
		}
		for i, p := range all.p {
			keep(all.v[i], p)
		}
	} else {
		values := v.narrow[field]
		for _, val := range sortedKeys(values) {
			from := len(buf)
			for _, p := range values[val] {
				keep(val, p)
			}
			slices.SortFunc(buf[from:], func(a, b termEntry) int { return int(a.p - b.p) })
		}
	}
	return slices.CompactFunc(buf, func(a, b termEntry) bool { return a.v == b.v && a.p == b.p })
}

// narrowTerms writes entries, of values values: each value, then the
// positions of the records holding it, ascending, as gaps.
func (w *writer) narrowTerms(entries []termEntry, values int) {
	w.uint(uint64(values))
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].v == entries[i].v {
			j++
		}
		w.str(entries[i].v)
		w.uint(uint64(j - i))
		last := int32(-1)
		for _, e := range entries[i:j] {
			w.uint(uint64(e.p - last))
			last = e.p
		}
		i = j
	}
}

// wideTerms writes a wide field's entries: each a position and the leaf of
// the record holding the value, from which a restore takes the value back.
func (w *writer) wideTerms(entries []termEntry) {
	w.uint(uint64(len(entries)))
	for _, e := range entries {
		w.uint(uint64(e.p))
		w.uint(uint64(e.leaf))
	}
}

// holds is where record r holds value v in field (a term index's field):
// the number of its metadata leaf for a metadata field, 0 for another,
// -1 when it does not hold it.
func holds(r *KeyRecord, field, v string) int {
	leaves := 1 // a field not of metadata has one value at most, at 0
	if strings.HasPrefix(field, "metadata.") {
		leaves = len(r.Metadata)
	}
	for i := range leaves {
		if got, ok := termValue(r, field, i); ok && got == v {
			return i
		}
	}
	return -1
}

// termValue is the value record r holds in field at leaf (holds' answer),
// ok false when r has no such leaf of that field.
func termValue(r *KeyRecord, field string, leaf int) (string, bool) {
	switch field {
	case "username":
		return r.User(), true
	case "realm_name":
		return r.Realm(), true
	case "type":
		return domain.ESTypeCrossCluster, r.CrossCluster
	}
	path, ok := strings.CutPrefix(field, "metadata.")
	if !ok || leaf >= len(r.Metadata) || r.Metadata[leaf].Path != path {
		return "", false
	}
	return r.Metadata[leaf].Value, true
}

// projectIndexes reads what (*writer).indexes wrote into pr, whose records are
// read: its indexes are then built, as a fold leaves them. Besides their
// positions, it checks what a reader trusts as a keys@5 restore does: the
// orders at samples (restoreRun), the values of a value index in order,
// postings at samples holding their value. An index that holds every
// position but in another order would answer queries wrongly, not fail.
//
// The records' ids are still bytes (ids): orders compare equal where only
// the ids tell two records apart, and the ids' bytes then decide.
func (r *reader) projectIndexes(pr *projectRecords, ids [][]byte) {
	n := len(pr.Records)
	// Ids are not placed yet: c, a comparison of a and b, is broken by
	// their bytes when it ties.
	byID := func(c int, a, b int32) int { return cmp.Or(c, bytes.Compare(ids[a], ids[b])) }
	perm := func(o *orderedIndex, order cmpPos, what string) {
		inOrder := func(a, b int32) int { return byID(order(a, b), a, b) }
		if run := r.positionList(n, n); r.err == nil && !o.restoreRun(run, inOrder) {
			r.fail(what + " order")
		}
	}
	perm(&pr.names, pr.byName, "name")
	perm(&pr.created, pr.byCreated, "creation")
	perm(&pr.ord.users, pr.byUser, "owner")
	r.values(pr, &pr.ord.expires, expiresOf, n, byID)
	invalidated, crossCluster := 0, 0 // what the invalidation index and type's postings hold
	for _, rec := range pr.Records {
		if rec.Invalidated {
			invalidated++
		}
		if rec.CrossCluster {
			crossCluster++
		}
	}
	r.values(pr, &pr.ord.invalidated, invalidatedAtOf, -1, byID)
	if r.err == nil && pr.ord.invalidated.entries != invalidated {
		r.fail("invalidation index size")
	}
	pr.terms = termIndex{}
	for field := r.str(); field != "" && r.err == nil; field = r.str() {
		switch r.u8("terms tag") {
		case termsNarrow:
			r.narrowTerms(pr, field)
		case termsWide:
			r.wideTerms(pr, field)
		default:
			r.fail("terms tag")
		}
	}
	if r.err == nil && !pr.terms.complete(len(pr.Records), crossCluster) {
		r.fail("term postings missing keys")
	}
	pr.ord.termsInexact, pr.ord.inexactKnown = nil, false // looked for by the first reader
}

// complete says whether the postings of the fields every key holds once
// (username, realm_name) name all keys, and those of type every one of
// the crossCluster keys: restored postings are counted as exact, so one left
// out would be missing from every total. (Metadata postings are checked
// at samples: a key holds any number of values of a path.)
func (x *termIndex) complete(keys, crossCluster int) bool {
	for field, want := range map[string]int{"username": keys, "realm_name": keys, "type": crossCluster} {
		got := 0
		for _, ps := range x.fields[field] {
			got += len(ps)
		}
		if w := x.wide[field]; w != nil {
			for _, run := range w.runs {
				got += run.len()
			}
		}
		if got != want {
			return false
		}
	}
	return true
}

// positionList reads what (*writer).positionList wrote: want of them (any
// number when negative), each below n and there once.
func (r *reader) positionList(n, want int) []int32 {
	m := r.countOf(4)
	if want >= 0 && m != want {
		r.fail("index size")
		return nil
	}
	seen := newPositionSet(n)
	ps := make([]int32, m)
	for i := range ps {
		p := binary.LittleEndian.Uint32(r.buf[4*i:])
		if !seen.add(p) {
			r.fail("index position")
			return nil
		}
		ps[i] = int32(p)
	}
	r.buf = r.buf[4*m:]
	return ps
}

// values reads a value index's positions (want of them, any number when
// negative), taking each entry's value from its record: every entry
// live. An entry of no value (noValue) is there only when want says
// every record is.
func (r *reader) values(pr *projectRecords, x *valueIndex, value func(*KeyRecord) int64, want int, byID func(c int, a, b int32) int) {
	ps := r.positionList(len(pr.Records), want)
	run, step := valueRun{v: make([]int64, len(ps)), p: ps}, orderStep(len(ps))
	for i, p := range ps {
		if run.v[i] = value(pr.Records[p]); run.v[i] == noValue && want < 0 {
			r.fail("index entry of no value")
			return
		}
		// Values in order at each entry; ties (creation, id) at samples.
		if i > 0 && (run.v[i] < run.v[i-1] || i%step == 0 && byID(pr.cmpEntry(run.v[i-1], ps[i-1], run.v[i], p), ps[i-1], p) >= 0) {
			r.fail("index order")
			return
		}
	}
	x.runs, x.entries, x.stale, x.unbuilt = []valueRun{run}, len(ps), 0, false
}

func (r *reader) narrowTerms(pr *projectRecords, field string) {
	pr.terms.made()
	k := r.countOf(2)
	if k > maxTermsPerField {
		r.fail("terms of a field")
		return
	}
	values := make(map[string][]int32, k)
	for range k {
		v := r.str()
		ps := make([]int32, r.countOf(1))
		p, step := int64(-1), max(1, len(ps)/8)
		for i := range ps {
			gap := r.uint()
			if gap == 0 || gap >= uint64(len(pr.Records)-int(p)) || r.err != nil {
				r.fail("term position")
				return
			}
			p += int64(gap)
			ps[i] = int32(p)
			// A few postings of each value (up to 4096 values a field).
			if (i%step == 0 || i == len(ps)-1) && holds(pr.Records[p], field, v) < 0 {
				r.fail("term posting")
				return
			}
		}
		values[v] = ps
	}
	pr.terms.fields[field] = values
}

func (r *reader) wideTerms(pr *projectRecords, field string) {
	pr.terms.made()
	m := r.countOf(2)
	run, step := wideRun{v: make([]string, m), p: make([]int32, m)}, orderStep(m)
	for i := range m {
		p, leaf := r.uint(), r.uint()
		if p >= uint64(len(pr.Records)) || leaf > uint64(len(pr.Records[p].Metadata)) {
			r.fail("wide term entry")
			return
		}
		v, ok := termValue(pr.Records[p], field, int(leaf))
		if !ok {
			r.fail("wide term entry")
			return
		}
		run.v[i], run.p[i] = v, int32(p)
		if i > 0 && i%step == 0 && cmp.Or(cmp.Compare(run.v[i-1], v), cmp.Compare(run.p[i-1], int32(p))) >= 0 {
			r.fail("wide term order")
			return
		}
	}
	pr.terms.wide[field] = &wideIndex{runs: []wideRun{run}}
}

// orderStep is every how many entries of n a restore checks the order (or
// a posting's value) at: about orderSamples places, every one when fewer.
func orderStep(n int) int { return max(1, n/orderSamples) }

// positionSet is the positions below n a restore has read, to refuse one
// out of range or read twice: an index names each record once.
type positionSet struct {
	bits []uint64
	n    uint32
}

func newPositionSet(n int) positionSet {
	return positionSet{bits: make([]uint64, (n+63)/64), n: uint32(n)}
}

// add records p, false when it is out of range or already there.
func (s positionSet) add(p uint32) bool {
	if p >= s.n || s.bits[p/64]&(1<<(p%64)) != 0 {
		return false
	}
	s.bits[p/64] |= 1 << (p % 64)
	return true
}
