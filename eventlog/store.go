package eventlog

import (
	"context"

	"github.com/keyplane/keyplane/domain"
)

// Store is what the command layer needs of the log: appends with each
// subject's expected sequence, atomic across the events of one command, and
// the read of a subject's last event that settles a refused
// create-if-absent. *Log is the one implementation; eventlog/storetest is
// the suite it passes.
type Store interface {
	// Append writes the events of one command atomically, each with its
	// concurrency check: a stale expected sequence is domain.ErrConflict
	// and nothing of the command is written.
	Append(ctx context.Context, apps ...Append) ([]uint64, error)
	// Commit is Append, then a wait until w has applied the events.
	Commit(ctx context.Context, w Waiter, apps ...Append) ([]uint64, error)
	// Execute runs decide, appends what it returns and retries on a
	// conflict once w has caught up (see Log.Execute).
	Execute(ctx context.Context, w Waiter, decide func() ([]Append, error)) ([]uint64, error)
	// AwaitLast waits until w holds the subject's last event.
	AwaitLast(ctx context.Context, w Waiter, subj string) error
	// LastSettled reads the subject's last event after a refused append.
	LastSettled(ctx context.Context, subj string) (*domain.Event, error)
}

var _ Store = (*Log)(nil)
