package esquery

import (
	"encoding/json"
	"strconv"
)

// Type is how a field is indexed.
type Type int

const (
	Keyword Type = iota
	Date
	Boolean
)

func (t Type) String() string {
	switch t {
	case Date:
		return "date"
	case Boolean:
		return "boolean"
	}
	return "keyword"
}

// Field reads one field of a document. Exactly the reader of its Type is
// set: Any for keywords (it reports whether pred holds for some value of
// the document, stopping at the first; no value means missing), Millis for
// dates, Bool for booleans. Readers are called for every document a query
// looks at, so they should not allocate.
type Field[D any] struct {
	Type   Type
	Any    func(d D, pred func(string) bool) bool
	Millis func(D) (int64, bool)
	Bool   func(D) bool
}

// Schema says which fields exist. Field resolves names a query may use;
// SortField those a sort may use; ID reads a document's id for the ids
// query; Default lists the fields simple_query_string searches when it
// names none.
type Schema[D any] struct {
	Field     func(name string) (Field[D], bool)
	SortField func(name string) (Field[D], bool)
	ID        func(D) string
	Default   []string
}

// KeywordOf turns a JSON scalar into the keyword Elasticsearch would index
// for it: strings as they are, numbers and booleans as their text.
func KeywordOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// AnyFlattened walks the keyword values of a flattened object field: the
// leaves under the dotted key path ("" for every leaf), lists included. It
// reports whether pred holds for one of them.
func AnyFlattened(v any, path string, pred func(string) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			switch {
			case path == "":
				if AnyFlattened(child, "", pred) {
					return true
				}
			case k == path:
				if anyLeaf(child, pred) {
					return true
				}
			case len(path) > len(k) && path[:len(k)] == k && path[len(k)] == '.':
				if AnyFlattened(child, path[len(k)+1:], pred) {
					return true
				}
			}
		}
	case []any:
		for _, child := range x {
			if AnyFlattened(child, path, pred) {
				return true
			}
		}
	default:
		if s, ok := KeywordOf(v); ok && path == "" {
			return pred(s)
		}
	}
	return false
}

// anyLeaf tests the scalar values of v and of lists of scalars; objects
// below belong to longer key paths.
func anyLeaf(v any, pred func(string) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, c := range x {
			if anyLeaf(c, pred) {
				return true
			}
		}
	case map[string]any:
	default:
		if s, ok := KeywordOf(v); ok {
			return pred(s)
		}
	}
	return false
}
