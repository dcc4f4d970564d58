package es

// SetSearchHook sets searchHook for a test; the returned func unsets it.
func SetSearchHook(f func()) (unset func()) {
	searchHook.Store(&f)
	return func() { searchHook.Store(nil) }
}
