package topk

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFirstIsTheSortedPrefix over random, ascending, descending
// and sawtooth inputs, which take each of its ways (heap, reversed heap,
// selection once the heap keeps being replaced, whole sort).
func TestFirstIsTheSortedPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i, n int) int{
		"random":   func(i, n int) int { return r.IntN(1000) },
		"asc":      func(i, n int) int { return i },
		"desc":     func(i, n int) int { return n - i },
		"sawtooth": func(i, n int) int { return (n - i) % 97 * 1000 / (i%5 + 1) },
	}
	for name, shape := range shapes {
		for range 500 {
			n := r.IntN(2000)
			xs := make([]int, n)
			for i := range xs {
				xs[i] = shape(i, n)
			}
			k := r.IntN(n/3 + 5)
			want := slices.Sorted(slices.Values(xs))[:min(k, n)]
			in := slices.Clone(xs)
			if got := First(in, k, cmp.Compare[int]); !slices.Equal(got, want) {
				t.Fatalf("%s: First(%v, %d) = %v, want %v", name, xs, k, got, want)
			}
			slices.Sort(in)
			if !slices.Equal(in, slices.Sorted(slices.Values(xs))) {
				t.Fatalf("%s: First lost elements of %v", name, xs)
			}
		}
	}
}

func TestSelectFirstIsTheSortedPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		n := r.IntN(2000)
		xs := make([]int, n)
		for i := range xs {
			xs[i] = r.IntN(50)
		}
		k := r.IntN(n + 1)
		want := slices.Sorted(slices.Values(xs))[:k]
		if got := selectFirst(slices.Clone(xs), k, cmp.Compare[int]); !slices.Equal(got, want) {
			t.Fatalf("selectFirst(%v, %d) = %v, want %v", xs, k, got, want)
		}
	}
}
