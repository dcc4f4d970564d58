package esquery

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyplane/keyplane/domain"
)

// wildcardRegexp is a wildcard value as a regular expression over runes
// spelling bytes (Go's regexp, linear): the reference of FuzzWildcardQuery.
func wildcardRegexp(p string) *regexp.Regexp {
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			re.WriteString(`.*`)
		case '?':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(string(rune(p[i]))))
		}
	}
	re.WriteString(`\z`)
	return regexp.MustCompile(re.String())
}

func bytesAsRunes(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// FuzzWildcardQuery: a wildcard query, and a prefix query, on a name
// answer as Go's regexp and strings.HasPrefix do, case-insensitive or not.
func FuzzWildcardQuery(f *testing.F) {
	f.Add("*-api-?ey", "manager-api-key", false)
	f.Add("MAN*", "manager", true)
	f.Add("*a?a*b", strings.Repeat("a", 100)+"b", false)
	f.Fuzz(func(t *testing.T, value, name string, ci bool) {
		if !utf8.ValidString(value) || !utf8.ValidString(name) {
			return // JSON would spell them otherwise
		}
		if len(value) > domain.MaxQueryValueBytes {
			return // refused before any matching (api TestCountsAndLengthsOverTheLimitsAreRefused)
		}
		opts := map[string]any{"value": value, "case_insensitive": ci}
		d := &doc{name: name}
		want, wantPrefix := value, value
		if ci {
			want, wantPrefix, name = strings.ToLower(value), strings.ToLower(value), strings.ToLower(name)
		}
		for typ, expect := range map[string]bool{
			"wildcard": wildcardRegexp(want).MatchString(bytesAsRunes(name)),
			"prefix":   strings.HasPrefix(name, wantPrefix),
		} {
			raw, _ := json.Marshal(map[string]any{typ: map[string]any{"name": opts}})
			q, err := Parse(raw, schema, now)
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if got := q(d); got != expect {
				t.Fatalf("%s on %q: %v, want %v", raw, d.name, got, expect)
			}
		}
	})
}
