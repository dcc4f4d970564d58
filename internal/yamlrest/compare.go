package yamlrest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// number is a normalised numeric value: exact for integers, float otherwise.
type number struct {
	isInt bool
	i     *big.Int
	f     float64
}

// toNumber converts YAML and JSON numbers (int64, uint64, float64,
// json.Number, ...) into a number.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int:
		return number{isInt: true, i: big.NewInt(int64(x))}, true
	case int32:
		return number{isInt: true, i: big.NewInt(int64(x))}, true
	case int64:
		return number{isInt: true, i: big.NewInt(x)}, true
	case uint64:
		return number{isInt: true, i: new(big.Int).SetUint64(x)}, true
	case float32:
		return floatNumber(float64(x)), true
	case float64:
		return floatNumber(x), true
	case json.Number:
		if i, ok := new(big.Int).SetString(x.String(), 10); ok {
			return number{isInt: true, i: i}, true
		}
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return number{}, false
		}
		return floatNumber(f), true
	}
	return number{}, false
}

// floatNumber makes integral floats compare equal to integers (1 == 1.0).
func floatNumber(f float64) number {
	if f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e18 {
		return number{isInt: true, i: big.NewInt(int64(f))}
	}
	return number{f: f}
}

func (n number) float() float64 {
	if n.isInt {
		f, _ := new(big.Float).SetInt(n.i).Float64()
		return f
	}
	return n.f
}

// cmp compares two numbers: -1, 0 or 1.
func (n number) cmp(o number) int {
	if n.isInt && o.isInt {
		return n.i.Cmp(o.i)
	}
	return cmp.Compare(n.float(), o.float())
}

// diff compares expected and actual deeply (numbers by value) and returns ""
// when they are equal, or a description of the first difference. path is the
// location used in the description.
func diff(path string, expected, actual any) string {
	where := ""
	if path != "" {
		where = " at " + path
	}
	if en, ok := toNumber(expected); ok {
		if an, ok := toNumber(actual); ok && en.cmp(an) == 0 {
			return ""
		}
		return fmt.Sprintf("expected %s%s, got %s", render(expected), where, renderTyped(actual))
	}
	switch e := expected.(type) {
	case nil:
		if actual == nil {
			return ""
		}
	case string:
		if a, ok := actual.(string); ok && a == e {
			return ""
		}
	case bool:
		if a, ok := actual.(bool); ok && a == e {
			return ""
		}
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			break
		}
		for _, k := range sortedKeys(e) {
			av, present := a[k]
			if !present {
				return fmt.Sprintf("missing key %q%s (expected %s); actual object has keys %s", k, where, render(e[k]), keyList(a))
			}
			if d := diff(joinPath(path, k), e[k], av); d != "" {
				return d
			}
		}
		for _, k := range sortedKeys(a) {
			if _, present := e[k]; !present {
				return fmt.Sprintf("unexpected key %q%s with value %s", k, where, render(a[k]))
			}
		}
		return ""
	case []any:
		a, ok := actual.([]any)
		if !ok {
			break
		}
		if len(a) != len(e) {
			return fmt.Sprintf("expected a list of %d elements%s, got %d: %s", len(e), where, len(a), render(a))
		}
		for i := range e {
			if d := diff(joinPath(path, strconv.Itoa(i)), e[i], a[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if fmt.Sprint(expected) == fmt.Sprint(actual) {
			return ""
		}
	}
	return fmt.Sprintf("expected %s%s, got %s", render(expected), where, renderTyped(actual))
}

func equal(expected, actual any) bool { return diff("", expected, actual) == "" }

func joinPath(base, k string) string {
	k = strings.ReplaceAll(k, ".", `\.`)
	if base == "" {
		return k
	}
	return base + "." + k
}

// renderTyped renders a value and, where the JSON text could be mistaken
// for another type, names the type.
func renderTyped(v any) string {
	s := render(v)
	switch v.(type) {
	case map[string]any, []any, nil:
		return s
	}
	return s + " (" + typeName(v) + ")"
}

// regexLiteral reports whether an expected string is a `/regex/`, and returns
// the pattern without the slashes. As in Elasticsearch the value is trimmed
// first, so a folded `>` block with a trailing newline still counts.
func regexLiteral(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && strings.HasPrefix(t, "/") && strings.HasSuffix(t, "/") {
		return t[1 : len(t)-1], true
	}
	return "", false
}

// compileComments compiles a pattern written for Java's Pattern.COMMENTS
// mode (which the Elasticsearch runner uses for `match`): unescaped
// whitespace is ignored and `#` starts a comment running to the end of the
// line. Escaped characters and \Q...\E quotes are kept as written.
func compileComments(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			if rs[i+1] == 'Q' {
				end := strings.Index(string(rs[i+2:]), `\E`)
				if end < 0 {
					b.WriteString(regexp.QuoteMeta(string(rs[i+2:])))
					i = len(rs)
				} else {
					lit := []rune(string(rs[i+2:])[:end])
					b.WriteString(regexp.QuoteMeta(string(lit)))
					i += 2 + len(lit) + 1
				}
				continue
			}
			b.WriteRune(r)
			b.WriteRune(rs[i+1])
			i++
		case unicode.IsSpace(r):
			// ignored
		case r == '#':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		default:
			b.WriteRune(r)
		}
	}
	return regexp.Compile(b.String())
}

// truthy implements is_true / is_false: a value is false when it is missing,
// null, false, "", "false" or 0.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false" && x != "0"
	}
	if n, ok := toNumber(v); ok {
		return n.cmp(number{isInt: true, i: big.NewInt(0)}) != 0
	}
	return true
}
