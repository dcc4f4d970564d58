package app

import (
	"encoding/binary"
	"errors"
)

// logCounts joins the projection snapshots: without one it would be the
// only projection a restart folds the whole log for, to count two kinds of
// events.

// Name of the notifier's outcome counters in snapshots and digests.
func (c *logCounts) Name() string { return "logcounts@1" }

// Snapshot is the two counters.
func (c *logCounts) Snapshot() ([]byte, error) {
	b := binary.AppendUvarint(nil, c.delivered.Load())
	return binary.AppendUvarint(b, c.failed.Load()), nil
}

// Restore sets the counters from a snapshot.
func (c *logCounts) Restore(b []byte) error {
	delivered, n := binary.Uvarint(b)
	if n <= 0 {
		return errors.New("logcounts: bad snapshot")
	}
	failed, m := binary.Uvarint(b[n:])
	if m <= 0 || n+m != len(b) {
		return errors.New("logcounts: bad snapshot")
	}
	c.delivered.Store(delivered)
	c.failed.Store(failed)
	return nil
}
