package domain

import "strings"

// The one wildcard matcher behind privilege patterns, index, application
// and resource patterns, run_as, and the wildcard queries. '*' matches any
// run of bytes ('/' included), '?' exactly one byte; every other byte
// matches itself (no escapes, no regular expressions).
//
// It must be linear in its inputs whatever they hold: a pattern and a name
// come from clients. A pattern is split at its stars into segments of
// fixed length; the first is anchored at the name's start, the last at its
// end, and each one between is found leftmost, left to right, after the
// previous one. Leftmost is always right: a segment has a fixed length, so
// an earlier occurrence leaves more of the name to the segments after it.
// A segment without '?' is found by a linear substring search (KMP, or
// strings.Index when short), one with '?' by shift-and over ⌈len/64⌉
// words (qTable). Time is O(len(pattern) + len(name)·⌈L/64⌉), L the
// longest segment holding '?' (at most 1024 bytes by the input limits: at
// most 16 word operations a byte of name); space is O(len(pattern)), at
// most 32 bytes a byte of a long segment holding '?', none for the name.
// Wildcard keeps the segments' tables, for matching many names.

// glob reports whether name matches pattern. With subjectIsPattern, name
// is itself a pattern whose '*' stands for any run: a '?' of pattern then
// does not match it (one byte cannot cover a run); see globCovers.
func glob(pattern, name string, subjectIsPattern bool) bool {
	return globWith(pattern, name, subjectIsPattern, nil)
}

// globWith is glob with the search tables of pattern's middle segments
// built beforehand (Wildcard), or built as they are needed when tables is
// nil.
func globWith(pattern, name string, subjectIsPattern bool, tables []segTable) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return len(pattern) == len(name) && segEqual(pattern, name, subjectIsPattern)
	}
	last := strings.LastIndexByte(pattern, '*')
	first, tail := pattern[:star], pattern[last+1:]
	if len(first)+len(tail) > len(name) ||
		!segEqual(first, name[:len(first)], subjectIsPattern) ||
		!segEqual(tail, name[len(name)-len(tail):], subjectIsPattern) {
		return false
	}
	rest := name[len(first) : len(name)-len(tail)]
	n := 0
	for mid := pattern[star+1 : last+1]; mid != ""; {
		end := strings.IndexByte(mid, '*')
		seg := mid[:end]
		mid = mid[end+1:]
		if seg == "" {
			continue
		}
		var at int
		if tables != nil {
			at = tables[n].index(rest, seg)
		} else {
			at = segIndex(rest, seg, subjectIsPattern)
		}
		if at < 0 {
			return false
		}
		n++
		rest = rest[at+len(seg):]
	}
	return true
}

// Wildcard is a pattern compiled for matching many names (a query's
// wildcard against every key's values): glob's answers, with the search
// tables of its segments built once.
type Wildcard struct {
	pattern string
	tables  []segTable
}

// CompileWildcard compiles pattern ('*' and '?' as MatchWildcard reads them).
func CompileWildcard(pattern string) *Wildcard {
	w := &Wildcard{pattern: pattern}
	star, last := strings.IndexByte(pattern, '*'), strings.LastIndexByte(pattern, '*')
	w.tables = []segTable{} // not nil: globWith uses them
	if star == last {
		return w // no middle segments
	}
	for _, seg := range strings.Split(pattern[star+1:last], "*") {
		if seg != "" {
			w.tables = append(w.tables, newSegTable(seg, false))
		}
	}
	return w
}

// Match reports whether name matches the pattern.
func (w *Wildcard) Match(name string) bool {
	return w.pattern == "*" || w.pattern == name || globWith(w.pattern, name, false, w.tables)
}

// segTable is what finding one middle segment takes: nothing for short
// literals, a KMP table for long ones, shift-and masks for those holding '?'.
type segTable struct {
	fail []int32
	q    *qTable
}

func newSegTable(seg string, subjectIsPattern bool) segTable {
	switch {
	case strings.IndexByte(seg, '?') >= 0:
		return segTable{q: newQTable(seg, subjectIsPattern)}
	case len(seg) > shortLiteral:
		return segTable{fail: kmpTable(seg)}
	}
	return segTable{}
}

// index is the start of seg's leftmost occurrence in s, or -1.
func (t segTable) index(s, seg string) int {
	switch {
	case t.q != nil:
		return t.q.search(s, len(seg))
	case t.fail != nil:
		return kmpSearch(s, seg, t.fail)
	}
	return strings.Index(s, seg)
}

// segEqual reports whether seg (no '*') matches s, of the same length.
func segEqual(seg, s string, subjectIsPattern bool) bool {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c != s[i] && (c != '?' || subjectIsPattern && s[i] == '*') {
			return false
		}
	}
	return true
}

// segIndex is the start of seg's leftmost occurrence in s, or -1, its
// search table built for this one search.
func segIndex(s, seg string, subjectIsPattern bool) int {
	switch {
	case len(seg) > len(s):
		return -1
	case strings.IndexByte(seg, '?') < 0 && len(seg) <= shortLiteral:
		return strings.Index(s, seg)
	case strings.IndexByte(seg, '?') < 0 && len(seg) <= stackTable:
		var fail [stackTable]int32 // an index pattern's table on the stack
		return kmpSearch(s, seg, kmpTableIn(seg, fail[:len(seg)]))
	case len(seg) <= 64 && strings.IndexByte(seg, '?') >= 0:
		return qSearch64(s, seg, subjectIsPattern) // tables on the stack
	case len(seg) <= stackTable && strings.IndexByte(seg, '?') >= 0:
		var masks [stackTable]uint64
		t := makeQTable(seg, subjectIsPattern, masks[:])
		return t.search(s, len(seg))
	}
	return newSegTable(seg, subjectIsPattern).index(s, seg)
}

// stackTable bounds the segments whose search tables glob keeps on the
// stack: index patterns (255 bytes at most) then allocate nothing.
const stackTable = 256

// shortLiteral bounds the literal segments left to strings.Index: up to it,
// strings.Index costs at most shortLiteral steps a byte of s even when it
// falls back to comparing at every position; longer ones could meet its
// Rabin-Karp fallback at every position with crafted hash collisions.
const shortLiteral = 64

// kmpTable is Knuth-Morris-Pratt's failure table of seg: fail[i] is the
// length of the longest proper border of seg[:i+1].
func kmpTable(seg string) []int32 { return kmpTableIn(seg, make([]int32, len(seg))) }

// kmpTableIn is kmpTable in fail, of len(seg).
func kmpTableIn(seg string, fail []int32) []int32 {
	for i, k := 1, int32(0); i < len(seg); i++ {
		for k > 0 && seg[i] != seg[k] {
			k = fail[k-1]
		}
		if seg[i] == seg[k] {
			k++
		}
		fail[i] = k
	}
	return fail
}

// kmpSearch finds the literal seg in s in O(len(s)) steps.
func kmpSearch(s, seg string, fail []int32) int {
	if len(seg) > len(s) {
		return -1
	}
	for i, k := 0, int32(0); i < len(s); i++ {
		for k > 0 && s[i] != seg[k] {
			k = fail[k-1]
		}
		if s[i] == seg[k] {
			k++
		}
		if int(k) == len(seg) {
			return i - len(seg) + 1
		}
	}
	return -1
}

// qTable is shift-and's table for a segment holding '?': bit i of the
// state says seg[:i+1] matches the bytes just read, a state of
// ⌈len/64⌉ words. row[c] is the row of masks of byte c: row 0 for bytes
// seg lacks (its '?' only), one per distinct literal byte, and a last,
// empty one for a '*' of a subject pattern, which no '?' matches.
type qTable struct {
	words int
	row   [256]uint16
	masks []uint64 // rows × words
}

func newQTable(seg string, subjectIsPattern bool) *qTable {
	t := makeQTable(seg, subjectIsPattern, nil)
	return &t
}

// makeQTable builds the table, its masks in buf when they fit.
func makeQTable(seg string, subjectIsPattern bool, buf []uint64) qTable {
	var t qTable
	t.words = (len(seg) + 63) / 64
	rows := 1
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c != '?' && t.row[c] == 0 {
			t.row[c] = uint16(rows)
			rows++
		}
	}
	if subjectIsPattern {
		t.row['*'] = uint16(rows) // seg holds no '*'
	}
	if need := (rows + 1) * t.words; need <= len(buf) {
		t.masks = buf[:need]
		clear(t.masks)
	} else {
		t.masks = make([]uint64, need)
	}
	for i := 0; i < len(seg); i++ {
		bit := uint64(1) << (i % 64)
		if c := seg[i]; c == '?' {
			for r := 0; r < rows; r++ {
				t.masks[r*t.words+i/64] |= bit
			}
		} else {
			t.masks[int(t.row[c])*t.words+i/64] |= bit
		}
	}
	return t
}

// search finds the segment, n bytes long, in s.
func (t *qTable) search(s string, n int) int {
	if n > len(s) {
		return -1
	}
	if t.words == 1 {
		top, state := uint64(1)<<(n-1), uint64(0)
		for i := 0; i < len(s); i++ {
			if state = (state<<1 | 1) & t.masks[t.row[s[i]]]; state&top != 0 {
				return i - n + 1
			}
		}
		return -1
	}
	var buf [16]uint64 // the limits' 1024 bytes: no allocation
	state := buf[:0]
	if t.words > len(buf) {
		state = make([]uint64, t.words)
	} else {
		state = buf[:t.words]
	}
	top, topBit := (n-1)/64, uint64(1)<<((n-1)%64)
	for i := 0; i < len(s); i++ {
		m := t.masks[int(t.row[s[i]])*t.words:][:len(state)]
		carry := uint64(1)
		for w, st := range state {
			state[w] = (st<<1 | carry) & m[w]
			carry = st >> 63
		}
		if state[top]&topBit != 0 {
			return i - n + 1
		}
	}
	return -1
}

// qSearch64 is shift-and for a segment of at most 64 bytes holding '?',
// its tables on the stack: what glob uses when it compiles nothing.
func qSearch64(s, seg string, subjectIsPattern bool) int {
	var lit [256]uint64
	var wildPos uint64
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c == '?' {
			wildPos |= 1 << i
		} else {
			lit[c] |= 1 << i
		}
	}
	top := uint64(1) << (len(seg) - 1)
	var state uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		m := lit[c]
		if !(subjectIsPattern && c == '*') {
			m |= wildPos
		}
		if state = (state<<1 | 1) & m; state&top != 0 {
			return i - len(seg) + 1
		}
	}
	return -1
}
