package eventlog

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Waiter is the local projections: WaitFor returns once they have applied
// the given sequence.
type Waiter interface {
	WaitFor(ctx context.Context, seq uint64) error
}

// maxAttempts bounds retries of one command under contention.
const maxAttempts = 16

// Execute runs a command with optimistic concurrency: decide reads the
// current state from the projections and returns what to append; on a
// conflict the projections are caught up to each touched subject's last
// event and decide runs again. It returns once the projections have applied
// the appended events, so the caller reads its own write.
func (l *Log) Execute(ctx context.Context, w Waiter, decide func() ([]Append, error)) ([]uint64, error) {
	for attempt := 1; ; attempt++ {
		apps, err := decide()
		if err != nil || len(apps) == 0 {
			return nil, err
		}
		seqs, err := l.Append(ctx, apps...)
		if err == nil {
			if err := w.WaitFor(ctx, seqs[len(seqs)-1]); err != nil {
				return seqs, err
			}
			return seqs, nil
		}
		if !domain.IsKind(err, domain.KindConflict) || attempt == maxAttempts {
			return nil, err
		}
		if err := l.catchUp(ctx, w, apps); err != nil {
			return nil, err
		}
		// Writers that lost together should not collide again together.
		backoff := time.Duration(rand.Int64N(int64(attempt)*int64(time.Millisecond))) + 1
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, unavailable("retry", ctx.Err())
		}
	}
}

// catchUp waits until the projections hold the last event of every subject
// the failed command touched.
func (l *Log) catchUp(ctx context.Context, w Waiter, apps []Append) error {
	for _, a := range apps {
		last, err := l.Last(ctx, a.Event.Subject())
		if err != nil {
			return err
		}
		if last != nil {
			if err := w.WaitFor(ctx, last.Seq); err != nil {
				return err
			}
		}
	}
	return nil
}
