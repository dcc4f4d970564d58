package yamlrest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// extendedKey matches ${name} references embedded in strings.
var extendedKey = regexp.MustCompile(`\$\{([^}]+)\}`)

// stash holds values saved by `set` and `transform_and_set` during one test.
// The body of the last response is always stored under "body", as in the
// Elasticsearch runner, so that `$body` refers to it.
type stash map[string]any

// hasRef reports whether s refers to the stash: it is a whole `$name`
// reference or contains at least one `${name}`.
func hasRef(s string) bool {
	if len(s) > 1 && s[0] == '$' {
		return true
	}
	return strings.Contains(s, "${") && extendedKey.MatchString(s)
}

// resolve replaces the stash references of s. A whole-string `$name` (not
// `${`) returns the stashed value itself, keeping its type; otherwise each
// `${name}` is replaced by the text of the stashed value and a string is
// returned.
func (st stash) resolve(s string) (any, error) {
	if len(s) > 1 && s[0] == '$' && s[1] != '{' {
		return st.get(s[1:])
	}
	var firstErr error
	out := extendedKey.ReplaceAllStringFunc(s, func(m string) string {
		v, err := st.get(m[2 : len(m)-1])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return m
		}
		return stringify(v)
	})
	return out, firstErr
}

// resolveString is resolve followed by stringify.
func (st stash) resolveString(s string) (string, error) {
	if !hasRef(s) {
		return s, nil
	}
	v, err := st.resolve(s)
	if err != nil {
		return "", err
	}
	return stringify(v), nil
}

// get returns the stashed value for key; key may be a path into a stashed
// value (e.g. "body.hits.total").
func (st stash) get(key string) (any, error) {
	if v, ok := st[key]; ok && v != nil {
		return v, nil
	}
	if v, ok, _ := walk(map[string]any(st), splitPath(key)); ok && v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("stashed value not found for key [%s]", key)
}

// replace returns a copy of v with stash references replaced in all strings
// and map keys.
func (st stash) replace(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !hasRef(x) {
			return x, nil
		}
		return st.resolve(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if hasRef(k) {
				nk, err := st.resolveString(k)
				if err != nil {
					return nil, err
				}
				k = nk
			}
			ne, err := st.replace(e)
			if err != nil {
				return nil, err
			}
			out[k] = ne
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ne, err := st.replace(e)
			if err != nil {
				return nil, err
			}
			out[i] = ne
		}
		return out, nil
	default:
		return v, nil
	}
}

// splitPath splits a dotted path; `\.` is a literal dot inside a key.
func splitPath(p string) []string {
	var parts []string
	var cur strings.Builder
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '.':
			if cur.Len() > 0 {
				parts = append(parts, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// walk follows parts from root. It returns the value, whether it was found,
// and when not found a description of where the walk stopped.
func walk(root any, parts []string) (any, bool, string) {
	cur := root
	for i, p := range parts {
		here := strings.Join(parts[:i], ".")
		if here == "" {
			here = "the body"
		}
		switch x := cur.(type) {
		case map[string]any:
			if p == "_arbitrary_key_" {
				if len(x) == 0 {
					return nil, false, fmt.Sprintf("%s is an empty object (no key for _arbitrary_key_)", here)
				}
				// As in Elasticsearch, the result is the key itself.
				return sortedKeys(x)[0], true, ""
			}
			v, ok := x[p]
			if !ok {
				return nil, false, fmt.Sprintf("key %q not found in %s (keys: %s)", p, here, keyList(x))
			}
			cur = v
		case []any:
			idx, err := strconv.Atoi(p)
			if err != nil {
				return nil, false, fmt.Sprintf("%s is a list, %q is not an index", here, p)
			}
			if idx < 0 || idx >= len(x) {
				return nil, false, fmt.Sprintf("index %d out of range in %s (length %d)", idx, here, len(x))
			}
			cur = x[idx]
		case nil:
			return nil, false, fmt.Sprintf("%s is null", here)
		default:
			return nil, false, fmt.Sprintf("%s is a %s, cannot look up %q", here, typeName(cur), p)
		}
	}
	return cur, true, ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func keyList(m map[string]any) string {
	keys := sortedKeys(m)
	if len(keys) > 12 {
		keys = append(keys[:12], "...")
	}
	return "[" + strings.Join(keys, ", ") + "]"
}

// stringify renders a value the way it is used in URLs, headers and
// interpolated strings.
func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Sprint(x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = stringify(e)
		}
		return strings.Join(s, ",")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// render is a compact JSON-ish rendering of a value for messages, truncated.
func render(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "null"
	case string:
		s = strconv.Quote(x)
	case json.Number:
		s = x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	return truncate(s, 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	if _, ok := toNumber(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
