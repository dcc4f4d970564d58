package yamlrest

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestSplitPath(t *testing.T) {
	for in, want := range map[string][]string{
		"a.b.0":       {"a", "b", "0"},
		`a\.b.c`:      {"a.b", "c"},
		"":            nil,
		"$body":       {"$body"},
		"a..b":        {"a", "b"},
		`x.y\.z\.w.v`: {"x", "y.z.w", "v"},
	} {
		if got := splitPath(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompileComments(t *testing.T) {
	cases := []struct {
		pattern, input string
		want           bool
	}{
		{"^ a b c $", "abc", true},
		{"^ a b c $", "a b c", false},
		{`^ a \  b $`, "a b", true},
		{"^abc # a comment\n def$", "abcdef", true},
		{`^\Qa b.\E$`, "a b.", true},
		{`^\Qa b.\E$`, "a bx", false},
		{`\d+ \s+ \w+`, "12 ab", true},
	}
	for _, c := range cases {
		re, err := compileComments(c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		if got := re.MatchString(c.input); got != c.want {
			t.Errorf("%q (compiled %q) on %q = %v, want %v", c.pattern, re, c.input, got, c.want)
		}
	}
}

func TestEqualNumbers(t *testing.T) {
	for _, c := range []struct {
		a, b any
		want bool
	}{
		{int64(1), json.Number("1.0"), true},
		{1.0, json.Number("1"), true},
		{int64(1712345678901), json.Number("1712345678901"), true},
		{int64(1712345678901), json.Number("1712345678902"), false},
		{2.5, json.Number("2.50"), true},
		{uint64(18446744073709551615), json.Number("18446744073709551615"), true},
		{"1", json.Number("1"), false},
		{map[string]any{"a": []any{int64(1)}}, map[string]any{"a": []any{json.Number("1")}}, true},
		{map[string]any{"a": int64(1)}, map[string]any{"a": int64(1), "b": nil}, false},
		{nil, nil, true},
		{nil, false, false},
		// NaN (YAML .nan) equals no number (cmp.Compare orders it below them all).
		{math.NaN(), 2.5, false},
		{2.5, math.NaN(), false},
	} {
		if got := equal(c.a, c.b); got != c.want {
			t.Errorf("equal(%#v, %#v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestStashResolve(t *testing.T) {
	st := stash{"n": json.Number("7"), "s": "x", "m": map[string]any{"k": "v"}}
	for in, want := range map[string]any{
		"$n":         json.Number("7"),
		"${n}":       "7",
		"a${s}b${n}": "ax" + "b7",
		"$m.k":       "v",
		"${m.k}!":    "v!",
	} {
		got, err := st.resolve(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("resolve(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	if _, err := st.resolve("$missing"); err == nil {
		t.Error("want an error for a missing key")
	}
	if hasRef("plain") || hasRef("$") || !hasRef("$x") || !hasRef("a ${x}") || hasRef("/^a$/") {
		t.Error("hasRef")
	}
}
