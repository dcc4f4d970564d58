package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// resubscribeWait is the pause before following the log again after
	// the subscription broke (a server or the whole cluster went away).
	// It is short and does not grow: a backoff would leave the projections
	// (and every command waiting on them) behind for its length after the
	// cluster is back.
	resubscribeWait = 250 * time.Millisecond
	// followHeartbeat is how often the server of the subscription's
	// consumer proves it is alive; two missed beats and the subscription
	// starts over elsewhere.
	followHeartbeat = time.Second
	// followSetupTimeout bounds creating the subscription's consumer.
	followSetupTimeout = 3 * time.Second
	// followInactive is how long the server keeps a consumer nobody reads
	// (a replica that died without deleting it).
	followInactive = time.Minute
)

// Subscribe delivers every event from sequence from (1 = the beginning) to
// fn, in log order, one at a time, until ctx ends or fn fails. When the
// subscription breaks (a server, a stream leader or the whole cluster gone)
// it follows again from the event after the last one delivered, for as
// long as it takes: a replica's projections must outlive any outage of the
// log.
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
//
// It does what an ordered consumer does, with its own deadlines: an
// ephemeral, unacknowledged consumer in memory, read with heartbeats, and
// started over from the next sequence on any gap or silence. (The client
// library's ordered consumer recreates itself with a fixed ten-second
// deadline per attempt; one attempt started while the stream elected a
// leader left a replica's projections ten seconds behind.)
func (l *Log) follow(ctx context.Context, from uint64, fn func(domain.Event) error) error {
	name := "kp-follow-" + uuid.NewString()
	cctx, cancel := context.WithTimeout(ctx, followSetupTimeout)
	// No filter: the stream holds only kp.>, and a filter would make the
	// server match every event's subject (see Scan).
	cons, err := l.js.CreateConsumer(cctx, l.name, jetstream.ConsumerConfig{
		Name:              name,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: followInactive,
	})
	cancel()
	if err != nil {
		return &brokenSub{err: unavailable("subscribe", err)}
	}
	defer l.dropConsumer(name)
	it, err := cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(followHeartbeat))
	if err != nil {
		return &brokenSub{err: unavailable("subscribe", err)}
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	delivered := uint64(0) // consumer sequence of the last message
	var d eventcodec.Decoder
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &brokenSub{err: unavailable("subscribe", err), delivered: delivered > 0}
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if md.Sequence.Consumer != delivered+1 {
			// A message was lost on the way (a reconnect): start over
			// from the last one applied.
			return &brokenSub{err: fmt.Errorf("gap in deliveries: %d after %d", md.Sequence.Consumer, delivered), delivered: delivered > 0}
		}
		delivered = md.Sequence.Consumer
		// An event that does not decode comes as Undecodable: one bad
		// event must not stop every projection at it for good.
		ev, err := decodeWith(&d, msg.Data(), md.Sequence.Stream)
		if err != nil {
			ev = readable(ev, err, md.Sequence.Stream, msg.Subject(), msg.Headers().Get(jetstream.MsgIDHeader), md.Timestamp)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// dropConsumer deletes a follow consumer in the background: the server
// would after followInactive anyway, but a clean end should not leave it.
func (l *Log) dropConsumer(name string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), followSetupTimeout)
		defer cancel()
		_ = l.js.DeleteConsumer(ctx, l.name, name)
	}()
}
