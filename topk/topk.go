// Package topk takes the k first of a list in an order without sorting
// the rest: a page of a long list costs about the list's length, not a
// sort of it.
package topk

import (
	"math/bits"
	"slices"
)

// First returns the k first of xs in order cmp (a total order),
// sorted; xs's order is changed (it stays a permutation). Only they are
// sorted: the cost of a page follows the page, not the keys that match.
//
// A bounded heap of the k least seen so far takes them in one pass, most
// elements rejected by one comparison with its root; it is walked from
// the end that comes first in the order, so that a list in or against the
// order (keys in creation order, sorted by -created) fills it at once. An
// input that still keeps replacing the root (about n log k moves) is done
// again by selection (selectFirst) instead.
func First[T any](xs []T, k int, cmp func(a, b T) int) []T {
	k = min(max(k, 0), len(xs))
	if k == 0 || k >= len(xs)/4 {
		slices.SortFunc(xs, cmp)
		return xs[:k]
	}
	if cmp(xs[len(xs)-1], xs[0]) < 0 {
		slices.Reverse(xs)
	}
	top := xs[:k]
	for i := k/2 - 1; i >= 0; i-- {
		SiftDown(top, i, cmp)
	}
	replaced, limit := 0, len(xs)/8
	for j := k; j < len(xs); j++ {
		if cmp(xs[j], top[0]) < 0 {
			top[0], xs[j] = xs[j], top[0]
			SiftDown(top, 0, cmp)
			if replaced++; replaced > limit {
				return selectFirst(xs, k, cmp)
			}
		}
	}
	slices.SortFunc(top, cmp)
	return top
}

// SiftDown restores the max-heap order of h below i (the last in the
// order at its root): for callers that keep a bounded heap of their own
// as elements stream by.
func SiftDown[T any](h []T, i int, cmp func(a, b T) int) {
	for {
		largest, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && cmp(h[l], h[largest]) > 0 {
			largest = l
		}
		if r < len(h) && cmp(h[r], h[largest]) > 0 {
			largest = r
		}
		if largest == i {
			return
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
}

// selectFirst is First by quickselect (pivots the median of three)
// then a sort of the k first, linear in len(xs) on average; after
// 2 log n rounds without getting there it sorts what is left instead.
func selectFirst[T any](xs []T, k int, cmp func(a, b T) int) []T {
	lo, hi := 0, len(xs)
	for rounds := 2 * bits.Len(uint(len(xs))); hi-lo > 32 && rounds > 0; rounds-- {
		lt, gt := partition3(xs[lo:hi], cmp)
		lt, gt = lo+lt, lo+gt
		switch {
		case k <= lt:
			hi = lt
		case k <= gt:
			lo = hi // the k first are in xs[:k]
		default:
			lo = gt
		}
	}
	if lo < hi && lo < k {
		slices.SortFunc(xs[lo:hi], cmp)
	}
	slices.SortFunc(xs[:k], cmp)
	return xs[:k]
}

// partition3 reorders xs around a pivot, the median of its first, middle
// and last: xs[:lt] below it, xs[lt:gt] equal, xs[gt:] above.
func partition3[T any](xs []T, cmp func(a, b T) int) (lt, gt int) {
	a, b, c := 0, len(xs)/2, len(xs)-1
	if cmp(xs[b], xs[a]) < 0 {
		a, b = b, a
	}
	if cmp(xs[c], xs[b]) < 0 {
		b = c
		if cmp(xs[b], xs[a]) < 0 {
			b = a
		}
	}
	pivot := xs[b]
	lt, i, gt := 0, 0, len(xs)
	for i < gt {
		switch c := cmp(xs[i], pivot); {
		case c < 0:
			xs[lt], xs[i] = xs[i], xs[lt]
			lt++
			i++
		case c > 0:
			gt--
			xs[i], xs[gt] = xs[gt], xs[i]
		default:
			i++
		}
	}
	return lt, gt
}
