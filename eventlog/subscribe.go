package eventlog

import (
	"context"
	"errors"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// resubscribeWait is the pause before following the log again after
	// the subscription broke (a server or the whole cluster went away).
	// It is short and constant: the client library's own retries back off
	// up to ten seconds, which after a cluster comes back would leave the
	// projections (and every command waiting on them) behind for as long.
	resubscribeWait = 250 * time.Millisecond
	// followHeartbeat is how often the server of the subscription's
	// consumer proves it is alive; two missed beats and the subscription
	// starts over elsewhere.
	followHeartbeat = time.Second
)

// Subscribe delivers every event from sequence from (1 = the beginning) to
// fn, in log order, one at a time, until ctx ends or fn fails. It uses an
// ordered consumer; when the subscription breaks (a server, a stream
// leader or the whole cluster gone) it follows again from the event after
// the last one delivered, for as long as it takes: a replica's projections
// must outlive any outage of the log.
func (l *Log) Subscribe(ctx context.Context, from uint64, fn func(domain.Event) error) error {
	next := max(from, 1)
	deliver := func(ev domain.Event) error {
		if err := fn(ev); err != nil {
			return err
		}
		next = ev.Seq + 1
		return nil
	}
	for broken := 0; ; broken++ {
		err := l.follow(ctx, next, deliver)
		var b *brokenSub
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.As(err, &b) {
			return err
		}
		if broken == 0 {
			l.opts.Logger.Warn("event subscription broke; following again", "from", next, "err", b.err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(resubscribeWait):
		}
		if b.delivered {
			broken = -1 // it worked for a while: warn about the next break
		}
	}
}

// brokenSub is a subscription that failed on the log's side, not fn's.
type brokenSub struct {
	err       error
	delivered bool // whether it delivered anything before it broke
}

func (e *brokenSub) Error() string { return "subscription broke: " + e.err.Error() }

// follow delivers events from sequence from until ctx ends, fn fails or
// the subscription breaks (a *brokenSub).
func (l *Log) follow(ctx context.Context, from uint64, fn func(domain.Event) error) error {
	cons, err := l.js.OrderedConsumer(ctx, l.name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"kp.>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
		// One attempt per recovery: Subscribe paces the retries.
		MaxResetAttempts: 1,
	})
	if err != nil {
		return &brokenSub{err: unavailable("subscribe", err)}
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(followHeartbeat))
	if err != nil {
		return &brokenSub{err: unavailable("subscribe", err)}
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	delivered := false
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &brokenSub{err: unavailable("subscribe", err), delivered: delivered}
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		ev, err := decode(msg.Data(), md.Sequence.Stream)
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
		delivered = true
	}
}
