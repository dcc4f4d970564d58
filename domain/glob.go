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
// A segment without '?' is found by a linear substring search (segSearch),
// one with '?' by shift-and over ⌈len/64⌉ words (qSearch). Time is
// O(len(pattern) + len(name)·⌈L/64⌉), L the longest segment holding '?'
// (at most 1024 by the input limits: at most 16 words a byte of name);
// space is O(len(pattern)), at most 32 bytes a byte of a long segment
// holding '?', and nothing for the name.

// glob reports whether name matches pattern. With subjectIsPattern, name
// is itself a pattern whose '*' stands for any run: a '?' of pattern then
// does not match it (one byte cannot cover a run); see globCovers.
func glob(pattern, name string, subjectIsPattern bool) bool {
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
	for mid := pattern[star+1 : last+1]; mid != ""; {
		end := strings.IndexByte(mid, '*')
		seg := mid[:end]
		mid = mid[end+1:]
		if seg == "" {
			continue
		}
		at := segIndex(rest, seg, subjectIsPattern)
		if at < 0 {
			return false
		}
		rest = rest[at+len(seg):]
	}
	return true
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

// segIndex is the start of seg's leftmost occurrence in s, or -1.
func segIndex(s, seg string, subjectIsPattern bool) int {
	if strings.IndexByte(seg, '?') >= 0 {
		return qSearch(s, seg, subjectIsPattern)
	}
	return segSearch(s, seg)
}

// shortLiteral bounds the literal segments left to strings.Index: up to it,
// strings.Index costs at most shortLiteral steps a byte of s even when it
// falls back to comparing at every position; longer ones could meet its
// Rabin-Karp fallback at every position with crafted hash collisions.
const shortLiteral = 64

// segSearch finds the literal seg in s: strings.Index for short segments,
// Knuth-Morris-Pratt (O(len(s)+len(seg)), a table of len(seg)) for long.
func segSearch(s, seg string) int {
	if len(seg) <= shortLiteral {
		return strings.Index(s, seg)
	}
	if len(seg) > len(s) {
		return -1
	}
	// fail[i]: length of the longest proper border of seg[:i+1].
	fail := make([]int32, len(seg))
	for i, k := 1, int32(0); i < len(seg); i++ {
		for k > 0 && seg[i] != seg[k] {
			k = fail[k-1]
		}
		if seg[i] == seg[k] {
			k++
		}
		fail[i] = k
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

// qSearch finds seg, which holds '?', in s by shift-and: bit i of the state
// says seg[:i+1] matches the bytes just read. One word for segments up to
// 64 bytes (its tables on the stack); longer ones take ⌈len/64⌉ words a
// step, with a row of masks for each distinct byte of seg.
func qSearch(s, seg string, subjectIsPattern bool) int {
	if len(seg) > len(s) {
		return -1
	}
	if len(seg) <= 64 {
		return qSearch64(s, seg, subjectIsPattern)
	}
	words := (len(seg) + 63) / 64
	// row[c] is the row of masks of byte c: row 0 for bytes seg lacks
	// (its '?' only), one per distinct literal byte, and a last, empty one
	// for a '*' of a subject pattern, which no '?' matches.
	var row [256]uint16
	rows := 1
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c != '?' && row[c] == 0 {
			row[c] = uint16(rows)
			rows++
		}
	}
	if subjectIsPattern {
		row['*'] = uint16(rows) // seg holds no '*'
	}
	masks := make([]uint64, (rows+1)*words+words)
	state := masks[(rows+1)*words:]
	for i := 0; i < len(seg); i++ {
		bit := uint64(1) << (i % 64)
		if c := seg[i]; c == '?' {
			for r := 0; r < rows; r++ {
				masks[r*words+i/64] |= bit
			}
		} else {
			masks[int(row[c])*words+i/64] |= bit
		}
	}
	top, topBit := (len(seg)-1)/64, uint64(1)<<((len(seg)-1)%64)
	for i := 0; i < len(s); i++ {
		m := masks[int(row[s[i]])*words:][:len(state)]
		carry := uint64(1)
		for w, st := range state {
			state[w] = (st<<1 | carry) & m[w]
			carry = st >> 63
		}
		if state[top]&topBit != 0 {
			return i - len(seg) + 1
		}
	}
	return -1
}

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
