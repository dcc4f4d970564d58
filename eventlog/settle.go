package eventlog

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// settleWait bounds how long LastSettled reads an empty subject again.
const settleWait = time.Second

// LastSettled is the subject's last event, read after an append to it was
// refused as stale. A clustered stream refuses an append while another one
// to the same subject is in flight (proposed to its peers, not yet
// stored), so right after a refusal the subject can still read empty: it
// is read again, briefly, until the other append lands. nil means it never
// did (that append failed too), and the refusal said nothing.
func (l *Log) LastSettled(ctx context.Context, subj string) (*domain.Event, error) {
	deadline := time.Now().Add(settleWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		ev, err := l.Last(ctx, subj)
		if err != nil || ev != nil || time.Now().After(deadline) {
			return ev, err
		}
		select {
		case <-ctx.Done():
			return nil, unavailable("read last", ctx.Err())
		case <-time.After(pause):
		}
	}
}
