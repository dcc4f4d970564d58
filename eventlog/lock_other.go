//go:build !unix

package eventlog

import "os"

// flock is a no-op where advisory locks are not available.
func flock(*os.File) error { return nil }
