package es

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// sep stands between keys in refFilter's key paths: keys are spelt a rune
// per byte (0-255), so it is never part of one.
const sep = "\u0100"

func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// refFilter is filter_path's meaning written plainly: a value is kept whole
// when its key path matches a path, as a regular expression (Go's, linear)
// over the keys; it walks the whole document, so it is for small ones.
func refFilter(doc any, paths []string) any {
	var res []*regexp.Regexp
	for _, p := range paths {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		var re strings.Builder
		re.WriteString(`\A`)
		for _, seg := range strings.Split(p, ".") {
			if seg == "**" {
				re.WriteString(`(?:` + sep + `[^` + sep + `]*)+`)
				continue
			}
			re.WriteString(sep)
			for i := 0; i < len(seg); i++ {
				switch seg[i] {
				case '*':
					re.WriteString(`[^` + sep + `]*`)
				case '?':
					re.WriteString(`[^` + sep + `]`)
				default:
					re.WriteString(regexp.QuoteMeta(string(rune(seg[i]))))
				}
			}
		}
		re.WriteString(`\z`)
		res = append(res, regexp.MustCompile(re.String()))
	}
	var walk func(v any, at string) any
	walk = func(v any, at string) any {
		for _, re := range res {
			if at != "" && re.MatchString(at) {
				return v
			}
		}
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, child := range x {
				if got := walk(child, at+sep+latin1(k)); got != nil {
					out[k] = got
				}
			}
			if len(out) > 0 {
				return out
			}
		case []any:
			var out []any
			for _, child := range x {
				if got := walk(child, at); got != nil {
					out = append(out, got)
				}
			}
			if out != nil {
				return out
			}
		}
		return nil
	}
	if kept := walk(doc, ""); kept != nil {
		return kept
	}
	return map[string]any{}
}

// oldPick is the recursion filterPath replaced, for one path: it agrees
// with the walk on a single path without "**" (with "**" it kept only the
// first way a "**" could match, and it merged several paths' arrays by
// keeping the last path's).
func oldPick(v any, path []string) any {
	if len(path) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range x {
			if domain.MatchWildcard(path[0], k) {
				if got := oldPick(child, path[1:]); got != nil {
					out[k] = got
				}
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, child := range x {
			if got := oldPick(child, path); got != nil {
				out = append(out, got)
			}
		}
		if out == nil {
			return nil
		}
		return out
	}
	return nil
}

func checkFilterPath(t *testing.T, doc any, paths []string) {
	t.Helper()
	got, _ := newPathFilter(context.Background(), paths).run(doc)
	if want := refFilter(doc, paths); !reflect.DeepEqual(got, want) {
		t.Fatalf("filter_path %q:\n got  %v\n want %v", paths, got, want)
	}
	if len(paths) == 1 && !strings.Contains(paths[0], "**") && strings.TrimSpace(paths[0]) == paths[0] && paths[0] != "" {
		old := oldPick(doc, strings.Split(paths[0], "."))
		if old == nil {
			old = map[string]any{}
		}
		if !reflect.DeepEqual(got, old) {
			t.Fatalf("filter_path %q:\n got  %v\n old  %v", paths, got, old)
		}
	}
}

func mustJSON(t testing.TB, s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFilterPathKeepsWhatEveryPathNames(t *testing.T) {
	doc := mustJSON(t, `{"api_keys": [{"id": "1", "name": "a", "metadata": {"x": {"id": 2, "y": {"id": 3}}}}, {"id": "4", "name": "b"}, []],
		"total": 2, "a.b": {"c": 1}, "": {"": 5}}`)
	for _, paths := range []string{
		"api_keys.id,api_keys.name", "**.id", "**.y.id", "api_keys.**", "**", "*", "total", "api_keys.*.x.**.id",
		"a*", "a?b", "nothing", ".", "api_keys.**.**.id", "**.**", "api_keys.metadata,api_keys.metadata.x", " total , ,",
	} {
		checkFilterPath(t, doc, strings.Split(paths, ","))
	}
	got, _ := newPathFilter(context.Background(), []string{"api_keys.id", "api_keys.name"}).run(doc)
	want := mustJSON(t, `{"api_keys": [{"id": "1", "name": "a"}, {"id": "4", "name": "b"}]}`)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("two paths into one array: %v", got)
	}
}

// FuzzFilterPath holds the walk to refFilter, and to the old recursion on
// single paths without "**".
func FuzzFilterPath(f *testing.F) {
	f.Add(`{"a": [{"b": 1, "c": {"b": 2}}], "d": {"b": {"b": 3}}}`, "**.b,a.c")
	f.Add(`{"a": {"a": {"a": {"x": 1}}}}`, "**.**.x")
	f.Add(`[{"k": 1}, 2, {"k": [3, {"k": 4}]}]`, "k,*.k")
	f.Fuzz(func(t *testing.T, doc, paths string) {
		var v any
		if len(doc) > 2000 || len(paths) > 200 || json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		checkFilterPath(t, v, strings.Split(paths, ","))
	})
}

// deepDoc is {"a": {"a": ... {"x": 1} ...}}, depth levels of "a".
func deepDoc(depth int) any {
	var v any = map[string]any{"x": 1.0}
	for range depth {
		v = map[string]any{"a": v, "b": 2.0}
	}
	return v
}

// Ten "**" over a document 200 levels deep: the old recursion tried every
// way to share the levels among them (C(200,10), about 2e16); the walk
// tries each key once against each of at most 11 states.
func TestFilterPathWithManyDoubleStarsOnADeepDocumentTakesBoundedSteps(t *testing.T) {
	const depth = 200
	path := strings.Repeat("**.", 10) + "x"
	got, steps := newPathFilter(context.Background(), []string{path}).run(deepDoc(depth))
	values, segments := 2*depth+2, 11
	if bound := values * (segments + 1); steps > bound {
		t.Fatalf("%d steps, want at most %d (values × (segments+1))", steps, bound)
	}
	inner := got
	for range depth {
		m, _ := inner.(map[string]any)
		if len(m) != 1 {
			t.Fatalf("the path to x is not kept alone: %v", inner)
		}
		inner = m["a"]
	}
	if !reflect.DeepEqual(inner, map[string]any{"x": 1.0}) {
		t.Fatalf("x not kept: %v", inner)
	}
}

// A client that has gone stops the walk within checkEvery steps.
func TestFilterPathStopsWhenTheClientHasGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc := make([]any, 10000)
	for i := range doc {
		doc[i] = map[string]any{"id": "k", "name": "n"}
	}
	got, steps := newPathFilter(ctx, []string{"**.id", "**.name"}).run(doc)
	if steps > checkEvery || !reflect.DeepEqual(got, map[string]any{}) {
		t.Fatalf("%d steps after the client went, answer %v", steps, got)
	}
}
