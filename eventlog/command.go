package eventlog

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
)

// Waiter is the local projections: WaitFor returns once they have applied
// the given sequence.
type Waiter interface {
	WaitFor(ctx context.Context, seq uint64) error
}

// AckedApplier is a Waiter that can fold a command's events as soon as they
// are acknowledged, when they are the next ones it needs, sparing the wait
// for the subscription to deliver them back.
type AckedApplier interface {
	ApplyAcked(evs []domain.Event)
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
		seqs, err := l.Commit(ctx, w, apps...)
		if err == nil || !domain.IsKind(err, domain.KindConflict) || attempt == maxAttempts {
			return seqs, err
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
		last, err := l.Last(ctx, Subject(a.Event))
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

// Commit appends the events of one command, decided once, and returns
// once the projections behind w have applied them, so the caller reads its
// own write. A conflict is returned as it is: for a create-if-absent
// (Expect 0) it says the subject is taken, and AwaitLast shows by whom.
func (l *Log) Commit(ctx context.Context, w Waiter, apps ...Append) ([]uint64, error) {
	seqs, err := l.Append(ctx, apps...)
	if err != nil {
		return nil, err
	}
	if aa, ok := w.(AckedApplier); ok {
		aa.ApplyAcked(l.acked.payloads(appended(apps, seqs)))
	}
	return seqs, w.WaitFor(ctx, seqs[len(seqs)-1])
}

// AwaitLast returns once the projections behind w hold the subject's last
// event, after an append to it was refused as stale: the caller then reads
// the event that won. A subject that stays empty (on a cluster the append
// that refused ours may fail too) is unavailable, not a conflict: the
// outcome is for a retry to find out.
func (l *Log) AwaitLast(ctx context.Context, w Waiter, subj string) error {
	last, err := l.LastSettled(ctx, subj)
	if err != nil || last == nil {
		return unavailable("create if absent", err)
	}
	return w.WaitFor(ctx, last.Seq)
}

// ackedDecoder decodes the payloads of a command's own events for the
// projections as the subscription does (eventcodec.Decoder), so that what
// recurs is shared between the keys that hold it: every key a user
// creates through Elasticsearch's API carries the user's role descriptors
// as its limited_by, kilobytes a key decoded anew. Commands run
// concurrently; a Decoder is for one at a time.
type ackedDecoder struct {
	mu sync.Mutex
	d  eventcodec.Decoder
}

func (a *ackedDecoder) payloads(evs []domain.Event) []domain.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range evs {
		evs[i] = a.d.Payload(evs[i])
	}
	return evs
}

// appended is apps' events as stored at seqs.
func appended(apps []Append, seqs []uint64) []domain.Event {
	evs := make([]domain.Event, len(apps))
	for i, a := range apps {
		evs[i] = a.Event
		evs[i].Seq = seqs[i]
	}
	return evs
}
