package yamlrest

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// actual returns the value a field refers to: a whole `$name` field is a
// stash value (`$body` is the last response body); anything else is a
// dotted path into the last response body, whose parts may contain stash
// references. found is false, with a description in note, when the path
// leads nowhere.
func (x *testRun) actual(field string) (v any, found bool, note string, err error) {
	if len(field) > 1 && field[0] == '$' && field[1] != '{' {
		v, err := x.stash.get(field[1:])
		if err != nil {
			return nil, false, err.Error(), nil
		}
		return v, true, "", nil
	}
	if x.last == nil {
		return nil, false, "", fmt.Errorf("no response to check (no do step before)")
	}
	if !x.last.isJSON {
		if field == "" {
			if x.last.method == "HEAD" {
				return x.last.status < 400, true, "", nil
			}
			return x.last.body, true, "", nil
		}
		return nil, false, "the response body is not JSON", nil
	}
	parts := splitPath(field)
	for i, p := range parts {
		if hasRef(p) {
			s, err := x.stash.resolveString(p)
			if err != nil {
				return nil, false, "", fmt.Errorf("path %q: %v", field, err)
			}
			parts[i] = s
		}
	}
	v, found, note = walk(x.last.body, parts)
	return v, found, note, nil
}

// expected converts an expected value from the test and replaces stash
// references in it.
func (x *testRun) expected(n *yaml.Node) (any, error) {
	v, err := nodeValue(n)
	if err != nil {
		return nil, err
	}
	return x.stash.replace(v)
}

func (x *testRun) runAssertion(st *step) error {
	switch st.kind {
	case "is_true", "is_false":
		field := st.value.Value
		v, found, note, err := x.actual(field)
		if err != nil {
			return err
		}
		if st.kind == "is_true" {
			if !found {
				return fmt.Errorf("field [%s] expected to be true but is missing: %s", field, note)
			}
			if !truthy(v) {
				return fmt.Errorf("field [%s] expected to be true, got %s", field, renderTyped(v))
			}
		} else if truthy(v) {
			return fmt.Errorf("field [%s] expected to be false/missing, got %s", field, renderTyped(v))
		}
		return nil
	case "transform_and_set":
		return x.transformAndSet(st.value)
	}

	for _, kv := range pairs(st.value) {
		field := kv[0].Value
		if st.kind == "set" {
			if err := x.set(field, kv[1]); err != nil {
				return err
			}
			continue
		}
		want, err := x.expected(kv[1])
		if err != nil {
			return err
		}
		got, found, note, err := x.actual(field)
		if err != nil {
			return err
		}
		if st.kind == "match" && want == nil && !found {
			continue
		}
		if !found {
			return fmt.Errorf("field [%s] not found: %s", field, note)
		}
		if err := check(st.kind, field, want, got); err != nil {
			return err
		}
	}
	return nil
}

func (x *testRun) set(field string, varNode *yaml.Node) error {
	name := strings.TrimSpace(varNode.Value)
	if varNode.Kind != yaml.ScalarNode || name == "" {
		return fmt.Errorf("set: the value for field [%s] must be a variable name", field)
	}
	v, found, note, err := x.actual(field)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("set: field [%s] not found: %s", field, note)
	}
	x.stash[strings.TrimPrefix(name, "$")] = v
	return nil
}

var transformRe = regexp.MustCompile(`^#(\w+)\((.*)\)$`)

func (x *testRun) transformAndSet(n *yaml.Node) error {
	for _, kv := range pairs(n) {
		name, expr := kv[0].Value, strings.TrimSpace(kv[1].Value)
		m := transformRe.FindStringSubmatch(expr)
		if m == nil {
			return fmt.Errorf("transform_and_set: %q is not of the form #function(args)", expr)
		}
		switch m[1] {
		case "base64EncodeCredentials":
			args := strings.Split(m[2], ",")
			if len(args) != 2 {
				return fmt.Errorf("transform_and_set: base64EncodeCredentials takes two fields, got %q", m[2])
			}
			var vals [2]string
			for i, a := range args {
				a = strings.TrimSpace(a)
				v, found, note, err := x.actual(a)
				if err != nil {
					return err
				}
				if !found || v == nil {
					return fmt.Errorf("transform_and_set: field [%s] not found: %s", a, note)
				}
				vals[i] = stringify(v)
			}
			x.stash[name] = base64.StdEncoding.EncodeToString([]byte(vals[0] + ":" + vals[1]))
		default:
			return fmt.Errorf("transform_and_set: unsupported function #%s", m[1])
		}
	}
	return nil
}

// check applies a comparison assertion to one field.
func check(kind, field string, want, got any) error {
	switch kind {
	case "match":
		if s, ok := want.(string); ok {
			if pat, isRe := regexLiteral(s); isRe {
				gs, ok := got.(string)
				if !ok {
					return fmt.Errorf("field [%s] expected to be a string matching %s, got %s", field, strings.TrimSpace(s), renderTyped(got))
				}
				re, err := compileComments(pat)
				if err != nil {
					return fmt.Errorf("field [%s]: invalid regex %s: %v", field, strings.TrimSpace(s), err)
				}
				if !re.MatchString(gs) {
					return fmt.Errorf("field [%s] expected to match %s, got %s", field, strings.TrimSpace(s), render(got))
				}
				return nil
			}
		}
		if d := diff("", want, got); d != "" {
			return fmt.Errorf("field [%s] does not match: %s", field, d)
		}
	case "length":
		wn, ok := toNumber(want)
		if !ok {
			return fmt.Errorf("length: expected value %s for [%s] is not a number", render(want), field)
		}
		var n int
		switch g := got.(type) {
		case []any:
			n = len(g)
		case map[string]any:
			n = len(g)
		case string:
			n = utf8.RuneCountInString(g)
		default:
			return fmt.Errorf("field [%s] has no length: %s", field, renderTyped(got))
		}
		if gn, _ := toNumber(n); gn.cmp(wn) != 0 {
			return fmt.Errorf("field [%s] expected length %s, got %d: %s", field, render(want), n, render(got))
		}
	case "gt", "gte", "lt", "lte":
		c, err := compare(want, got)
		if err != nil {
			return fmt.Errorf("%s on field [%s]: %v", kind, field, err)
		}
		ok := map[string]bool{"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[kind]
		if !ok {
			op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[kind]
			return fmt.Errorf("field [%s] expected %s %s, got %s", field, op, render(want), render(got))
		}
	case "contains":
		return contains(field, want, got)
	case "close_to":
		m, ok := want.(map[string]any)
		value, okV := toNumber(m["value"])
		tol, okE := toNumber(m["error"])
		if !ok || !okV || !okE {
			return fmt.Errorf("close_to on [%s] expects {value: number, error: number}", field)
		}
		gn, ok := toNumber(got)
		if !ok {
			return fmt.Errorf("field [%s] expected a number close to %s, got %s", field, render(m["value"]), renderTyped(got))
		}
		if d := gn.float() - value.float(); d > tol.float() || -d > tol.float() {
			return fmt.Errorf("field [%s] expected %s ± %s, got %s", field, render(m["value"]), render(m["error"]), render(got))
		}
	case "is_after":
		wt, err1 := time.Parse(time.RFC3339Nano, stringify(want))
		gt, err2 := time.Parse(time.RFC3339Nano, stringify(got))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("is_after on [%s]: cannot parse %s / %s as RFC 3339 times", field, render(want), render(got))
		}
		if !gt.After(wt) {
			return fmt.Errorf("field [%s] expected after %s, got %s", field, render(want), render(got))
		}
	default:
		return fmt.Errorf("unsupported assertion %q", kind)
	}
	return nil
}

// compare returns the sign of got - want, for numbers or strings.
func compare(want, got any) (int, error) {
	wn, ok1 := toNumber(want)
	gn, ok2 := toNumber(got)
	if ok1 && ok2 {
		return gn.cmp(wn), nil
	}
	ws, ok1 := want.(string)
	gs, ok2 := got.(string)
	if ok1 && ok2 {
		return strings.Compare(gs, ws), nil
	}
	return 0, fmt.Errorf("cannot compare %s with %s", renderTyped(got), renderTyped(want))
}

// contains follows the Elasticsearch semantics: the actual value must be a
// list; an expected object must be a subset (same values for its keys) of
// one of the list's objects; an expected list must have all its elements in
// the list; any other value must be equal to an element.
func contains(field string, want, got any) error {
	list, ok := got.([]any)
	if !ok {
		return fmt.Errorf("field [%s] expected to be a list, got %s", field, renderTyped(got))
	}
	if wm, ok := want.(map[string]any); ok {
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			match := true
			for k, wv := range wm {
				ev, present := em[k]
				if !present || !equal(wv, ev) {
					match = false
					break
				}
			}
			if match {
				return nil
			}
		}
		return fmt.Errorf("field [%s] has no object containing %s; list: %s", field, render(want), render(got))
	}
	wants := asList(want)
	if want == nil {
		wants = []any{nil}
	}
	for _, w := range wants {
		found := false
		for _, e := range list {
			if equal(w, e) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("field [%s] does not contain %s; list: %s", field, render(w), render(got))
		}
	}
	return nil
}
