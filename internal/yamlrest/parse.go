package yamlrest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// suite is one parsed YAML test file.
type suite struct {
	file     string // base name, used in output
	setup    *section
	teardown *section
	tests    []*section
}

// section is the setup, the teardown or one test: a named list of steps.
type section struct {
	name  string
	line  int
	steps []*step
	err   error // a problem found while parsing the steps; reported when the section is used
}

// step is one element of a section's step list, e.g. `- match: {a: 1}`.
type step struct {
	kind  string     // "do", "match", "skip", ...
	line  int        // line of the step in the file
	value *yaml.Node // the step's argument
	do    *doStep    // parsed form when kind == "do"
}

// doStep is the parsed form of a `do` step.
type doStep struct {
	api     string
	args    map[string]any // API arguments, including "body" and "ignore"
	headers map[string]any
	catch   string
	ignore  []any // statuses given at the do level (args may hold another "ignore")
}

// parseSuite reads a multi-document YAML test file.
func parseSuite(name string, data []byte) (*suite, error) {
	s := &suite{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", name, err)
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // empty document
		}
		if root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d: a document must be a map of section name to steps", name, root.Line)
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			sec := parseSection(k.Value, k.Line, v)
			switch k.Value {
			case "setup":
				if s.setup != nil {
					return nil, fmt.Errorf("%s:%d: duplicate setup section", name, k.Line)
				}
				s.setup = sec
			case "teardown":
				if s.teardown != nil {
					return nil, fmt.Errorf("%s:%d: duplicate teardown section", name, k.Line)
				}
				s.teardown = sec
			default:
				s.tests = append(s.tests, sec)
			}
		}
	}
	return s, nil
}

func parseSection(name string, line int, v *yaml.Node) *section {
	sec := &section{name: name, line: line}
	v = deref(v)
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return sec
	}
	if v.Kind != yaml.SequenceNode {
		sec.err = fmt.Errorf("line %d: section %q must be a list of steps", v.Line, name)
		return sec
	}
	for _, item := range v.Content {
		st, err := parseStep(deref(item))
		if err != nil {
			sec.err = err
			return sec
		}
		sec.steps = append(sec.steps, st)
	}
	return sec
}

func parseStep(n *yaml.Node) (*step, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil, fmt.Errorf("line %d: a step must be a map with exactly one key (do, match, set, ...)", n.Line)
	}
	k, v := n.Content[0], deref(n.Content[1])
	st := &step{kind: k.Value, line: k.Line, value: v}
	switch st.kind {
	case "do":
		d, err := parseDo(v)
		if err != nil {
			return nil, err
		}
		st.do = d
	case "match", "set", "transform_and_set", "length", "gt", "gte", "lt", "lte",
		"contains", "close_to", "is_after":
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: %s expects a map of field to value", v.Line, st.kind)
		}
	case "is_true", "is_false":
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s expects a field path", v.Line, st.kind)
		}
	case "skip", "requires":
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: %s expects a map", v.Line, st.kind)
		}
	default:
		return nil, fmt.Errorf("line %d: unsupported step %q", k.Line, st.kind)
	}
	return st, nil
}

func parseDo(n *yaml.Node) (*doStep, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: do expects a map", n.Line)
	}
	d := &doStep{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "catch":
			d.catch = v.Value
		case "headers":
			val, err := nodeValue(v)
			if err != nil {
				return nil, err
			}
			m, ok := val.(map[string]any)
			if !ok && val != nil {
				return nil, fmt.Errorf("line %d: do.headers must be a map", v.Line)
			}
			d.headers = m
		case "ignore":
			val, err := nodeValue(v)
			if err != nil {
				return nil, err
			}
			d.ignore = asList(val)
		case "warnings", "warnings_regex", "allowed_warnings", "allowed_warnings_regex", "node_selector":
			// Accepted and ignored: this runner does not check deprecation
			// warnings and talks to a single node.
		default:
			if d.api != "" {
				return nil, fmt.Errorf("line %d: do has two API calls (%s and %s)", k.Line, d.api, k.Value)
			}
			d.api = k.Value
			val, err := nodeValue(v)
			if err != nil {
				return nil, err
			}
			switch a := val.(type) {
			case nil:
				d.args = map[string]any{}
			case map[string]any:
				d.args = a
			default:
				return nil, fmt.Errorf("line %d: arguments of %s must be a map", v.Line, d.api)
			}
		}
	}
	if d.api == "" {
		return nil, fmt.Errorf("line %d: do without an API call", n.Line)
	}
	return d, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// nodeValue converts a YAML node into plain Go values: map[string]any,
// []any, string, bool, nil, int64, uint64 or float64.
func nodeValue(n *yaml.Node) (any, error) {
	n = deref(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: map keys must be scalars", k.Line)
			}
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			switch x := v.(type) {
			case int:
				return int64(x), nil
			case uint:
				return uint64(x), nil
			}
			return v, nil
		default: // !!str, !!timestamp, custom tags: keep the text
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// pairs returns the key/value nodes of a mapping node, in order.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{deref(n.Content[i]), deref(n.Content[i+1])})
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// asStrings turns a scalar or a list of scalars into strings; a string
// containing commas is not split.
func asStrings(v any) []string {
	var out []string
	for _, e := range asList(v) {
		s := strings.TrimSpace(stringify(e))
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
