package esquery

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Sort is a parsed sort: fields in order, each ascending or descending.
type Sort[D any] struct {
	fields []sortField[D]
}

type sortField[D any] struct {
	name string
	f    Field[D]
	desc bool
}

// Value is one sort value of a document. Missing values sort last in both
// directions, as Elasticsearch's default "missing": "_last" does.
type Value struct {
	S       string
	N       int64
	B       bool
	Missing bool
}

// Key is the sort values of one document.
type Key []Value

// Len is the number of sort fields; zero means no sort was asked for.
func (s Sort[D]) Len() int { return len(s.fields) }

// ParseSort reads Elasticsearch's sort: "field", {"field": "desc"},
// {"field": {"order": "desc"}}, or a list of them.
func ParseSort[D any](raw json.RawMessage, s Schema[D]) (Sort[D], error) {
	var out Sort[D]
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	v, err := decode(raw)
	if err != nil {
		return out, domain.Invalid("failed to parse sort: %s", domain.JSONReason(err))
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, item := range list {
		fs, err := parseSortItem(item, s)
		if err != nil {
			return out, err
		}
		out.fields = append(out.fields, fs...)
	}
	return out, nil
}

func parseSortItem[D any](item any, s Schema[D]) ([]sortField[D], error) {
	switch x := item.(type) {
	case string:
		f, err := sortable(x, s)
		return []sortField[D]{{name: x, f: f}}, err
	case map[string]any:
		var out []sortField[D]
		for name, spec := range x {
			f, err := sortable(name, s)
			if err != nil {
				return nil, err
			}
			desc, err := sortOrder(name, spec)
			if err != nil {
				return nil, err
			}
			out = append(out, sortField[D]{name: name, f: f, desc: desc})
		}
		return out, nil
	}
	return nil, domain.Invalid("failed to parse sort: expected a field name or an object")
}

func sortable[D any](name string, s Schema[D]) (Field[D], error) {
	if f, ok := s.SortField(name); ok {
		return f, nil
	}
	return Field[D]{}, domain.Invalid("Field [%s] is not allowed for sorting", name)
}

func sortOrder(name string, spec any) (bool, error) {
	order := ""
	switch y := spec.(type) {
	case string:
		order = y
	case map[string]any:
		for k, v := range y {
			switch k {
			case "order":
				var ok bool
				if order, ok = v.(string); !ok {
					return false, domain.Invalid("sort order of [%s] must be a string, asc or desc", name)
				}
			case "missing", "unmapped_type", "format", "mode", "numeric_type":
			default:
				return false, domain.Invalid("sort of [%s] does not support [%s]", name, k)
			}
		}
	default:
		return false, domain.Invalid("failed to parse sort of [%s]", name)
	}
	switch strings.ToLower(order) {
	case "", "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, domain.Invalid("sort order of [%s] must be asc or desc, not [%s]", name, order)
}

// Key reads the sort values of d. A keyword field with several values
// sorts by its smallest (ascending) or largest (descending) one.
func (s Sort[D]) Key(d D) Key { return s.KeyInto(nil, d) }

// KeyInto is Key reusing dst's storage (scratch space while scanning).
func (s Sort[D]) KeyInto(dst Key, d D) Key {
	k := dst[:0]
	if cap(k) < len(s.fields) {
		k = make(Key, len(s.fields))
	}
	k = k[:len(s.fields)]
	for i, sf := range s.fields {
		switch sf.f.Type {
		case Date:
			n, ok := sf.f.Millis(d)
			k[i] = Value{N: n, Missing: !ok}
		case Boolean:
			k[i] = Value{B: sf.f.Bool(d)}
		default:
			if sf.f.One != nil {
				k[i] = Value{S: sf.f.One(d)}
				continue
			}
			v := Value{Missing: true}
			sf.f.Any(d, func(x string) bool {
				if v.Missing || (x < v.S) != sf.desc && x != v.S {
					v = Value{S: x}
				}
				return false
			})
			k[i] = v
		}
	}
	return k
}

// Compare orders two keys by the sort: negative when a comes first.
func (s Sort[D]) Compare(a, b Key) int {
	for i, sf := range s.fields {
		x, y := a[i], b[i]
		if x.Missing || y.Missing {
			if x.Missing != y.Missing {
				if x.Missing {
					return 1
				}
				return -1
			}
			continue
		}
		c := 0
		switch sf.f.Type {
		case Date:
			c = cmp.Compare(x.N, y.N)
		case Boolean:
			c = cmp.Compare(b2i(x.B), b2i(y.B))
		default:
			c = strings.Compare(x.S, y.S)
		}
		if sf.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// JSON is the key as Elasticsearch shows it in "_sort": dates as epoch
// milliseconds (missing: the extreme that sorts last), keywords as strings
// (missing: null), booleans as booleans.
func (s Sort[D]) JSON(k Key) []any {
	out := make([]any, len(k))
	for i, sf := range s.fields {
		v := k[i]
		switch {
		case sf.f.Type == Date && v.Missing && sf.desc:
			out[i] = int64(minMillis)
		case sf.f.Type == Date && v.Missing:
			out[i] = int64(maxMillis)
		case v.Missing:
			out[i] = nil
		case sf.f.Type == Date:
			out[i] = v.N
		case sf.f.Type == Boolean:
			out[i] = v.B
		default:
			out[i] = v.S
		}
	}
	return out
}

// After reads search_after: one value per sort field, in the forms _sort
// shows them (a date may also be given as text or date math).
func (s Sort[D]) After(raw json.RawMessage, now time.Time) (Key, error) {
	v, err := decode(raw)
	list, ok := v.([]any)
	if err != nil || !ok {
		return nil, domain.Invalid("[search_after] must be a list of sort values")
	}
	if len(list) != len(s.fields) {
		return nil, domain.Invalid("search_after has %d value(s) but sort has %d", len(list), len(s.fields))
	}
	k := make(Key, len(list))
	for i, sf := range s.fields {
		if list[i] == nil {
			k[i] = Value{Missing: true}
			continue
		}
		switch sf.f.Type {
		case Date:
			n, err := ParseMillis(list[i], now)
			if err != nil {
				return nil, err
			}
			// The extremes stand for a missing date.
			k[i] = Value{N: n, Missing: n == maxMillis || n == minMillis}
		case Boolean:
			b, err := parseBool(list[i], sf.name)
			if err != nil {
				return nil, err
			}
			k[i] = Value{B: b}
		default:
			str, ok := KeywordOf(list[i])
			if !ok {
				return nil, domain.Invalid("search_after value for [%s] must be a scalar", sf.name)
			}
			k[i] = Value{S: str}
		}
	}
	return k, nil
}
