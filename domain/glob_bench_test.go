package domain

import (
	"strconv"
	"strings"
	"testing"
)

// globShapes are patterns that cost backtracking matchers most, at n bytes,
// against a name of n bytes of 'a': many stars, one long literal, a long
// run of '?' and literals. None matches, found only at the name's end.
func globShapes(n int) []struct{ name, pattern string } {
	return []struct{ name, pattern string }{
		{"stars", strings.Repeat("*a", n/2-1) + "*b*"},
		{"literal", "*" + strings.Repeat("a", n-3) + "b*"},
		{"question", "*" + strings.Repeat("a?", n/2-2) + "b*"},
	}
}

// BenchmarkGlob: ns/op and B/op of one match at the limits' sizes (255 for
// index patterns and names, 1024 for resources and wildcard values), a
// tenth of them, and the 60 KB of issue 20's attack: both grow with n,
// not n², in every shape, and as match and as globCovers.
func BenchmarkGlob(b *testing.B) {
	for _, n := range []int{25, 255, 1024, 61440} {
		name := strings.Repeat("a", n)
		for _, s := range globShapes(n) {
			for _, covers := range []bool{false, true} {
				mode := "match"
				if covers {
					mode = "covers"
				}
				b.Run(s.name+"/"+mode+"/n="+strconv.Itoa(n), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(s.pattern) + n))
					for i := 0; i < b.N; i++ {
						if glob(s.pattern, name, covers) {
							b.Fatal("matched")
						}
					}
				})
			}
		}
	}
}
