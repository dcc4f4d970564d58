package eventlog

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDataDir takes an exclusive lock on an embedded server's data dir. Two
// nats-servers writing one file store would corrupt the log, and nats-server
// does not prevent it itself: so `keyplane replay` or `audit export` on the
// data dir of a running `keyplane serve` is refused with a clear error
// instead. The lock goes with the process, so a crash never leaves it held.
func lockDataDir(dir string) (unlock func(), err error) {
	if dir == "" {
		return func() {}, nil // startEmbedded refuses it
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("eventlog: data dir: %w", err)
	}
	path := filepath.Join(dir, "keyplane.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("eventlog: lock data dir: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("eventlog: data dir %s is in use by another keyplane process: "+
			"stop it, or reach its log with --nats-url (serve --nats-listen)", dir)
	}
	return func() { f.Close() }, nil
}
