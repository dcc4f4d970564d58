package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
//
// Alongside, a watch (watch.go) checks that the subscription keeps up:
// events it is late with are fetched through any server and delivered
// here, and Freshness says how current the fold is known to be. The log
// has one subscription (a replica's projections); Freshness is its.
func (l *Log) Subscribe(ctx context.Context, from uint64, fn func(domain.Event) error) error {
	s := &subscription{l: l, fn: fn, next: max(from, 1), kicks: make(chan struct{}, 1)}
	l.fresh.advance(s.next - 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.watch(ctx, cancel)
	for broken := 0; ; broken++ {
		err := s.follow(ctx)
		var b *brokenSub
		if ctx.Err() != nil {
			if cause := context.Cause(ctx); cause != ctx.Err() {
				return cause // the watch could not deliver (fn failed)
			}
			return ctx.Err()
		}
		if !errors.As(err, &b) {
			return err
		}
		if b.kicked {
			continue // the watch saw it fall behind: follow again at once
		}
		if broken == 0 {
			l.opts.Logger.Warn("event subscription broke; following again", "from", s.from(), "err", b.err)
		}
		select {
		case <-ctx.Done():
			continue
		case <-s.kicks:
			continue
		case <-time.After(resubscribeWait):
		}
		if b.delivered {
			broken = -1 // it worked for a while: warn about the next break
		}
	}
}

// subscription is one Subscribe: what it delivered so far, shared by the
// follow and the watch, which may both deliver (each event once, in order).
type subscription struct {
	l  *Log
	fn func(domain.Event) error

	mu   sync.Mutex
	next uint64 // the next sequence to deliver
	// kicks asks the follow under way to start over (it is late).
	kicks chan struct{}
}

// from is the next sequence to deliver.
func (s *subscription) from() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// deliver hands ev to fn unless it was delivered already.
func (s *subscription) deliver(ev domain.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Seq < s.next {
		return nil
	}
	if err := s.fn(ev); err != nil {
		return err
	}
	s.next = ev.Seq + 1
	s.l.fresh.advance(ev.Seq)
	return nil
}

// kick makes the follow under way start over from the next sequence.
func (s *subscription) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

// brokenSub is a subscription that failed on the log's side, not fn's.
type brokenSub struct {
	err       error
	delivered bool // whether it delivered anything before it broke
	kicked    bool // the watch ended it: it was late
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
func (s *subscription) follow(ctx context.Context) error {
	l, from := s.l, s.from()
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
	// A kick from before this follow began is for the one before.
	select {
	case <-s.kicks:
	default:
	}
	kicked, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-s.kicks:
			close(kicked)
			it.Stop()
		case <-done:
		}
	}()
	delivered := uint64(0) // consumer sequence of the last message
	var d eventcodec.Decoder
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			select {
			case <-kicked:
				return &brokenSub{err: errors.New("late"), delivered: delivered > 0, kicked: true}
			default:
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
		if err := s.deliver(ev); err != nil {
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
