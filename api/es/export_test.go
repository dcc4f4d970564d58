package es

// SetSearchHook sets searchHook for a test; the returned func unsets it.
func SetSearchHook(f func()) (unset func()) {
	searchHook.Store(&f)
	return func() { searchHook.Store(nil) }
}

// NamePrefixOf is the name prefix a query's plan reads from the name
// index, "" for a scan.
func NamePrefixOf(raw string) string { return planOf([]byte(raw)).namePrefix }
