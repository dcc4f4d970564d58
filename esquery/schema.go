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
//
// One, when set beside Any, reads a keyword field that always holds
// exactly one value: a sort reads it without a predicate.
type Field[D any] struct {
	Type   Type
	Any    func(d D, pred func(string) bool) bool
	One    func(D) string
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

// AnyMetadata reports whether pred holds for one of a flattened object
// field's leaves (domain.FlattenMetadata) under the dotted key path, or for
// any leaf when path is "". Leaves name their whole path, so "a.b" matches
// {"a": {"b": ...}} and {"a.b": ...} alike, as Elasticsearch's flattened
// type does.
func AnyMetadata(leaves []domain.MetadataLeaf, path string, pred func(string) bool) bool {
	for i := range leaves {
		if leaf := &leaves[i]; (path == "" || leaf.Path == path) && pred(leaf.Value) {
			return true
		}
	}
	return false
}
