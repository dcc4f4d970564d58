package esquery

import "github.com/keyplane/keyplane/domain"

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
func KeywordOf(v any) (string, bool) { return domain.MetadataKeyword(v) }

// AnyFlattened walks the keyword values of a flattened object field: the
// leaves under the dotted key path ("" for every leaf), lists included. It
// reports whether pred holds for one of them. Named paths are looked up,
// not searched, so a query on "metadata.team" costs a map lookup per key.
func AnyFlattened(v any, path string, pred func(string) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		if path == "" {
			for _, child := range x {
				if AnyFlattened(child, "", pred) {
					return true
				}
			}
			return false
		}
		if child, ok := x[path]; ok && anyLeaf(child, pred) {
			return true
		}
		// "a.b" may also be key "a" holding key "b" (or "a.x" holding "y"...).
		for i := 0; i < len(path); i++ {
			if path[i] == '.' {
				if child, ok := x[path[:i]]; ok && AnyFlattened(child, path[i+1:], pred) {
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
