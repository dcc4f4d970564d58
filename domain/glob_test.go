package domain

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// latin1 spells each byte of s as one rune, so that a regular expression's
// '.' takes one byte, as '?' does.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// refGlob is glob built on Go's regexp (linear, RE2): the reference the
// fuzz target holds glob to.
func refGlob(pattern, name string, subjectIsPattern bool) bool {
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*':
			re.WriteString(`.*`)
		case c == '?' && subjectIsPattern:
			re.WriteString(`[^*]`)
		case c == '?':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(string(rune(c))))
		}
	}
	re.WriteString(`\z`)
	return regexp.MustCompile(re.String()).MatchString(latin1(name))
}

// oldMatch and oldGlobCovers are the matchers glob replaced (backtracking,
// and a memo of len(g)×len(r)), kept to show glob answers as they did.
func oldMatch(pattern, name string) bool {
	if pattern == "*" || pattern == name {
		return true
	}
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func oldGlobCovers(g, r string) bool {
	memo := make([][]uint8, len(g)+1)
	for i := range memo {
		memo[i] = make([]uint8, len(r)+1)
	}
	var covers func(i, j int) bool
	covers = func(i, j int) bool {
		if m := memo[i][j]; m != 0 {
			return m == 1
		}
		var ok bool
		switch {
		case i == len(g):
			ok = j == len(r)
		case g[i] == '*':
			ok = covers(i+1, j) || (j < len(r) && covers(i, j+1))
		case j == len(r):
			ok = false
		case g[i] == '?':
			ok = r[j] != '*' && covers(i+1, j+1)
		default:
			ok = r[j] == g[i] && covers(i+1, j+1)
		}
		memo[i][j] = 2
		if ok {
			memo[i][j] = 1
		}
		return ok
	}
	return covers(0, 0)
}

func checkGlob(t *testing.T, pattern, name string) {
	t.Helper()
	for _, sub := range []bool{false, true} {
		want := refGlob(pattern, name, sub)
		if got := glob(pattern, name, sub); got != want {
			t.Fatalf("glob(%q, %q, %v) = %v, regexp says %v", pattern, name, sub, got, want)
		}
	}
	if got, want := CompileWildcard(pattern).Match(name), match(pattern, name); got != want {
		t.Fatalf("CompileWildcard(%q).Match(%q) = %v, match says %v", pattern, name, got, want)
	}
	if len(pattern)*len(name) <= 1<<16 {
		// The old match took a '*' of the pattern for a literal when the
		// name held '*' there, and then could not backtrack to it ("*x"
		// did not match "*ax"); Elasticsearch's automaton, and glob, do.
		if got, want := match(pattern, name), oldMatch(pattern, name); got != want && !strings.Contains(name, "*") {
			t.Fatalf("match(%q, %q) = %v, the old matcher said %v", pattern, name, got, want)
		}
		if got, want := globCovers(pattern, name), oldGlobCovers(pattern, name); got != want {
			t.Fatalf("globCovers(%q, %q) = %v, the old one said %v", pattern, name, got, want)
		}
	}
}

// The segment searches change at 64 bytes (one word, strings.Index) and
// their tables with the bytes a segment holds: cases on both sides.
func TestGlobAgreesWithRegexpAndTheOldMatchers(t *testing.T) {
	long := strings.Repeat("ab?", 30) // 90 bytes: two words of shift-and
	lit := strings.Repeat("abcab", 20)
	for _, tt := range [][2]string{
		{"", ""}, {"", "a"}, {"*", ""}, {"?", ""}, {"?", "*"}, {"a?c", "a*c"}, {"**", "x"}, {"a**b", "ab"},
		{"logs-*", "logs-1"}, {"*key*", "my-key-1"}, {"a*b*c", "axxbyyc"}, {"a*b*c", "axxbyy"}, {"a*b*c", "a*c"},
		{"*a?a*", "aaa"}, {"*a?a*", "a*a"}, {"*ab*ba*", "aba"}, {"*ab*ba*", "abba"},
		{"x*" + long + "*y", "x" + strings.Repeat("abz", 31) + "y"},
		{"x*" + long + "*y", "x" + strings.Repeat("abz", 29) + "y"},
		{"x*" + long + "*y", "x" + strings.Repeat("ab*", 31) + "y"},
		{"*" + lit + "*", strings.Repeat("abcab", 41)},
		{"*" + lit + "*", strings.Repeat("abcab", 19) + "abca" + lit[:len(lit)-1]},
		{"*" + lit + "x*", strings.Repeat("a", 300) + lit + "x"},
		{"*" + strings.Repeat("?", 64) + "*", strings.Repeat("*", 64)},
		{"*" + strings.Repeat("?", 65) + "*", strings.Repeat("q", 65)},
		{"*" + strings.Repeat("?", 65) + "*", strings.Repeat("q", 64)},
	} {
		checkGlob(t, tt[0], tt[1])
	}
}

// FuzzMatch holds glob (as match and as globCovers) to a reference built on
// Go's regexp, and to the old matchers where they are cheap enough.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"a*b?c", "axbyc"}, {"*?*", "*"}, {"logs-*", "logs-1"}, {"*" + strings.Repeat("a?", 40) + "*", strings.Repeat("ab", 50)}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		checkGlob(t, pattern, name)
		// Each byte 33 times: segments past 64 bytes, for the multi-word
		// shift-and and KMP, still held to the reference.
		if len(pattern)+len(name) <= 64 {
			checkGlob(t, stretch(pattern, 33), stretch(name, 33))
		}
	})
}

// allocated is how many bytes fn allocates, the least of a few runs.
func allocated(fn func()) uint64 {
	least := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// A pattern of 60 KB against a name of 60 KB, the attack of issue 20: the
// old memo took len(pattern)×len(name) bytes, 3.6 GB; glob takes space
// linear in the pattern (its search tables) and nothing for the name. 6 KB
// first, so that the old code fails there without taking the machine.
func TestGlobOf60KBPatternAnd60KBNameTakesLinearSpace(t *testing.T) {
	for _, n := range []int{6 << 10, 60 << 10} {
		name := strings.Repeat("a", n)
		for _, tt := range []struct {
			what, pattern string
			perByte       uint64 // bound, per byte of pattern and name together
		}{
			{"stars", strings.Repeat("a*", n/2), 0},
			{"one long literal", "*" + strings.Repeat("a", n-2) + "b*", 4},
			{"question marks", "*" + strings.Repeat("?", n-2) + "b*", 1},
			{"question marks and literals", "a*" + strings.Repeat("?a", n/2-2) + "*b", 1},
		} {
			for _, sub := range []bool{false, true} {
				got := allocated(func() { glob(tt.pattern, name, sub) })
				if bound := tt.perByte*uint64(len(tt.pattern)+n) + 1024; got > bound {
					t.Fatalf("%d bytes, %s: %d bytes allocated, want at most %d", n, tt.what, got, bound)
				}
			}
		}
		// The same through the privilege check that called the old memo.
		p := Permission{RoleDescriptors{"r": {Indices: []IndexPrivileges{{Names: StringList{strings.Repeat("a*", n/2)}, Privileges: StringList{"read"}}}}}}
		var granted, refused bool
		other := "b" + name
		got := allocated(func() { granted, refused = p.HasIndex(name, "read", false), !p.HasIndex(other, "read", false) })
		if !granted || !refused || got > 64<<10 {
			t.Fatalf("%d bytes: HasIndex granted %v, refused %v, allocated %d bytes", n, granted, refused, got)
		}
	}
}

func stretch(s string, k int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString(strings.Repeat(s[i:i+1], k))
	}
	return b.String()
}
