package es

import "encoding/json"

// SetSearchHook sets searchHook for a test; the returned func unsets it.
func SetSearchHook(f func()) (unset func()) {
	searchHook.Store(&f)
	return func() { searchHook.Store(nil) }
}

// NamePrefixOf is the name prefix a query's plan reads from the name
// index, "" for a scan.
func NamePrefixOf(raw string) string { return planOf([]byte(raw)).namePrefix }

// ReadsCreationEnds reports whether a request for every caller's key,
// without aggregations, reads its page from the creation index.
func ReadsCreationEnds(body string) bool {
	var req esQueryRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		panic(err)
	}
	from, size, err := pageOf(req)
	return err == nil && planRequest(req, from, size, false, false).ends > 0
}

// ReadsIDs reports whether a query's plan looks its ids up.
func ReadsIDs(raw string) bool { return planOf([]byte(raw)).hasIDs }

// TermFieldsOf are the fields whose term index a query's plan may read.
func TermFieldsOf(raw string) []string {
	var out []string
	for _, tc := range planOf([]byte(raw)).terms {
		out = append(out, tc.Field)
	}
	return out
}
