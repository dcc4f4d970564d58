package projections

import (
	"cmp"
	"slices"
)

// wideIndex keeps a term field of more values than a map of postings is
// worth (maxTermsPerField: an id per key in metadata, a customer's) as
// sorted runs of (value, position), as orderedIndex keeps its runs: 20
// bytes a value held, the string shared with the record's. A changed
// record's old entry stays (stale, as in termIndex): readers filter.
type wideIndex struct {
	runs []wideRun
	// bulk holds the entries of a build (termIndex.ready), sorted once by
	// settle rather than merged one by one.
	bulk    []wideEntry
	growing bool
}

type wideRun struct {
	v []string
	p []int32
}

type wideEntry struct {
	v string
	p int32
}

func (r wideRun) len() int { return len(r.p) }

// widen is the wide index of a field's postings; while building
// (termIndex.ready), it takes entries as they come, for settle to sort.
func widen(postings map[string][]int32, building bool) *wideIndex {
	w := &wideIndex{growing: building}
	for v, ps := range postings {
		for _, p := range ps {
			w.bulk = append(w.bulk, wideEntry{v, p})
		}
	}
	if !building {
		w.settle()
	}
	return w
}

// settle sorts the entries of a build into one run.
func (w *wideIndex) settle() {
	slices.SortFunc(w.bulk, func(a, b wideEntry) int { return cmp.Or(cmp.Compare(a.v, b.v), cmp.Compare(a.p, b.p)) })
	run := wideRun{v: make([]string, len(w.bulk)), p: make([]int32, len(w.bulk))}
	for i, e := range w.bulk {
		run.v[i], run.p[i] = e.v, e.p
	}
	w.runs, w.bulk, w.growing = []wideRun{run}, nil, false
}

func (w *wideIndex) add(v string, pos int32) {
	if w.growing {
		w.bulk = append(w.bulk, wideEntry{v, pos})
		return
	}
	w.runs = append(w.runs, wideRun{v: []string{v}, p: []int32{pos}})
	for n := len(w.runs); n >= 2 && w.runs[n-1].len() >= w.runs[n-2].len(); n = len(w.runs) {
		w.runs = append(w.runs[:n-2], mergeWide(w.runs[n-2], w.runs[n-1]))
	}
}

func mergeWide(a, b wideRun) wideRun {
	v, p := mergePairs(a.v, a.p, b.v, b.p, func(x string, xp int32, y string, yp int32) int {
		return cmp.Or(cmp.Compare(x, y), cmp.Compare(xp, yp))
	})
	return wideRun{v: v, p: p}
}

// equal counts the entries of values (every entry when nil) and reads
// their positions, ascending and once each.
func (w *wideIndex) equal(values []string) (int, func([]int32) []int32) {
	if values != nil {
		values = slices.Compact(slices.Sorted(slices.Values(values)))
	}
	each := func(f func(r wideRun, from, to int)) {
		for _, r := range w.runs {
			if values == nil {
				f(r, 0, r.len())
				continue
			}
			for _, v := range values {
				from, _ := slices.BinarySearch(r.v, v)
				to := from
				for to < r.len() && r.v[to] == v {
					to++
				}
				f(r, from, to)
			}
		}
	}
	n := 0
	each(func(_ wideRun, from, to int) { n += to - from })
	return n, func(buf []int32) []int32 {
		start := len(buf)
		each(func(r wideRun, from, to int) { buf = append(buf, r.p[from:to]...) })
		slices.Sort(buf[start:])
		return slices.Compact(buf)
	}
}
