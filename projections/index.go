package projections

import (
	"slices"
	"strings"
	"sync"
)

// orderedIndex keeps the positions of records in an append-only list
// (a project's records, a tenant's keys) ordered by a field that never
// changes once the record exists (a key's name, its creation, its owner),
// ties by id, so that a query bounded on that field reads the records it
// can match instead of every one.
//
// It is a few sorted runs of sizes falling by at least half (a binary
// counter): an add is a run of one, merged with the runs before it while
// they are no larger, so n adds cost O(n log n) moves in all and a lookup
// binary-searches at most log n runs. Positions are 4 bytes a record.
// Readers hold the owner's read lock; writers its write lock.
//
// A restore leaves it unbuilt (lazy): the first reader sorts it once,
// under mu, so a cold start does not wait for indexes nobody has asked
// for yet (a million names sort in about half a second).
type orderedIndex struct {
	runs    [][]int32
	mu      sync.Mutex // held by a reader that builds an unbuilt index
	unbuilt bool
}

// cmpPos orders two positions by the indexed field, then id.
type cmpPos func(a, b int32) int

// add indexes the record at pos (nothing to do while unbuilt: the build
// will take every position). The owner's write lock is held: no reader
// is building.
func (o *orderedIndex) add(pos int32, cmp cmpPos) {
	if o.unbuilt {
		return
	}
	o.runs = append(o.runs, []int32{pos})
	for n := len(o.runs); n >= 2 && len(o.runs[n-1]) >= len(o.runs[n-2]); n = len(o.runs) {
		o.runs = append(o.runs[:n-2], mergeRuns(o.runs[n-2], o.runs[n-1], cmp))
	}
}

// lazy leaves the index to be built by its first reader (ready), over
// every position its owner will hold then.
func (o *orderedIndex) lazy() { o.runs, o.unbuilt = nil, true }

// ready builds a lazy index over positions 0..n-1; a reader calls it,
// under the owner's read lock, before reading the index.
func (o *orderedIndex) ready(n int, cmp cmpPos) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.unbuilt {
		o.build(n, cmp)
		o.unbuilt = false
	}
}

// build indexes positions 0..n-1 at once: one sort.
func (o *orderedIndex) build(n int, cmp cmpPos) {
	run := make([]int32, n)
	for i := range run {
		run[i] = int32(i)
	}
	slices.SortFunc(run, cmp)
	o.runs = [][]int32{run}
}

func mergeRuns(a, b []int32, cmp cmpPos) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(a[i], b[j]) <= 0 {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return append(append(out, a[i:]...), b[j:]...)
}

// mergePairs merges two runs of (value, position) pairs, each in order
// cmp, into one in that order: the merge of the indexes whose entries
// carry their value (index_order.go, index_wide.go).
func mergePairs[V any](av []V, ap []int32, bv []V, bp []int32, cmp func(x V, xp int32, y V, yp int32) int) ([]V, []int32) {
	n := len(av) + len(bv)
	v, p := make([]V, 0, n), make([]int32, 0, n)
	i, j := 0, 0
	for i < len(av) && j < len(bv) {
		if cmp(av[i], ap[i], bv[j], bp[j]) <= 0 {
			v, p = append(v, av[i]), append(p, ap[i])
			i++
		} else {
			v, p = append(v, bv[j]), append(p, bp[j])
			j++
		}
	}
	return append(append(v, av[i:]...), bv[j:]...), append(append(p, ap[i:]...), bp[j:]...)
}

// prefixed appends to buf the positions whose field (field(pos)) starts
// with p, in position order: the order a scan would meet them in, so that
// an answer from the index is the scan's answer, ties and all.
func (o *orderedIndex) prefixed(p string, field func(int32) string, buf []int32) []int32 {
	start := len(buf)
	buf = o.prefixedAnyOrder(p, field, buf)
	slices.Sort(buf[start:])
	return buf
}

// prefixedAnyOrder is prefixed in the index's order, for a reader whose
// answer does not depend on the order it meets them in (a list put in
// its own total order).
func (o *orderedIndex) prefixedAnyOrder(p string, field func(int32) string, buf []int32) []int32 {
	for _, run := range o.runs {
		i, _ := slices.BinarySearchFunc(run, p, func(pos int32, p string) int {
			if f := field(pos); f < p {
				return -1
			}
			return 1 // the first position not below p
		})
		for ; i < len(run) && strings.HasPrefix(field(run[i]), p); i++ {
			buf = append(buf, run[i])
		}
	}
	return buf
}

// fewerPrefixed reports whether fewer than n positions' fields start with p.
func (o *orderedIndex) fewerPrefixed(p string, n int, field func(int32) string) bool {
	return o.countPrefixed(p, field) < n
}

// size is the number of positions indexed.
func (o *orderedIndex) size() int {
	n := 0
	for _, r := range o.runs {
		n += len(r)
	}
	return n
}

// LiteralPrefix is the part of a wildcard pattern ('*' any run, '?' one
// byte) before its first wildcard: every name the pattern matches starts
// with it.
func LiteralPrefix(pattern string) string {
	if i := strings.IndexAny(pattern, "*?"); i >= 0 {
		return pattern[:i]
	}
	return pattern
}

// ends appends to buf the positions of the k first entries of the order
// (the k last with last), with every entry tied (tie(a, b) == 0) to the
// k-th of its run: the entries any k first (last) of the whole order can
// come from, whatever ties a later comparison breaks. In position order.
func (o *orderedIndex) ends(k int, last bool, tie cmpPos, buf []int32) []int32 {
	start := len(buf)
	for _, run := range o.runs {
		n := min(k, len(run))
		if n == 0 {
			continue
		}
		if !last {
			edge := run[n-1]
			for n < len(run) && tie(run[n], edge) == 0 {
				n++
			}
			buf = append(buf, run[:n]...)
			continue
		}
		from := len(run) - n
		edge := run[from]
		for from > 0 && tie(run[from-1], edge) == 0 {
			from--
		}
		buf = append(buf, run[from:]...)
	}
	slices.Sort(buf[start:])
	return buf
}
