package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go/jetstream"
)

// AggSubjects matches the aggregates of one type in every organization,
// e.g. AggSubjects(domain.AggNotice) is kp.*.notice.>.
func AggSubjects(aggType string) string { return "kp.*." + aggType + ".>" }

// Consumer names a durable, shared consumer: every process that consumes
// under the same name shares one position in the log, so each event is
// handled by one of them, and what was not acknowledged is redelivered to
// whoever is (still or again) running, across restarts.
type Consumer struct {
	// Durable is the consumer's name: a token of letters, digits, - and _.
	Durable string
	// Filter is the subject filter (see AggSubjects).
	Filter string
	// AckWait is how long a delivery may stay unanswered before the server
	// gives it to another process; Consume keeps extending it while the
	// handler runs, so it bounds how soon a crashed process's work moves
	// on, not how long a handler may take. Default 30s.
	AckWait time.Duration
	// Backoff is the delay before redelivering an event whose handler
	// failed at the given attempt (1 for the first). Default: 1s doubling
	// up to 5m.
	Backoff func(attempt int) time.Duration
}

// Delivery is one event handed to a consumer.
type Delivery struct {
	Event domain.Event
	// Attempt counts deliveries of this event, 1 for the first; failed
	// handlers and crashed processes both make it grow.
	Attempt int
}

// Consume hands the consumer's events to fn, one at a time, until ctx ends
// or the subscription fails. An event is acknowledged when fn returns nil
// and redelivered after Backoff(attempt) when it returns an error; there is
// no delivery limit, so giving up is fn's decision (it sees Attempt).
func (l *Log) Consume(ctx context.Context, c Consumer, fn func(context.Context, Delivery) error) error {
	c = c.withDefaults()
	if !domain.ValidToken(c.Durable) {
		return fmt.Errorf("eventlog: consumer name %q is not a token", c.Durable)
	}
	cons, err := l.js.CreateOrUpdateConsumer(ctx, l.name, jetstream.ConsumerConfig{
		Durable:       c.Durable,
		FilterSubject: c.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
	})
	if err != nil {
		return unavailable("consumer "+c.Durable, err)
	}
	// One message at a time: a batch buffered here would let its AckWait
	// run out while the first is handled, and be handed to another process
	// as well.
	it, err := cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return unavailable("consumer "+c.Durable, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return unavailable("consumer "+c.Durable, err)
		}
		if err := l.handle(ctx, c, msg, fn); err != nil {
			return err
		}
	}
}

// handle runs fn on one message and answers the server.
func (l *Log) handle(ctx context.Context, c Consumer, msg jetstream.Msg, fn func(context.Context, Delivery) error) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	ev, err := decode(msg.Data(), md.Sequence.Stream)
	if err != nil {
		// An event that does not decode never will: leave it to a human
		// (it stays in the log) instead of redelivering it forever.
		l.opts.Logger.Error("consumer skips an undecodable event", "consumer", c.Durable, "seq", md.Sequence.Stream, "err", err)
		return msg.Term()
	}
	attempt := int(md.NumDelivered)
	ferr := l.whileInProgress(ctx, c, msg, func() error { return fn(ctx, Delivery{Event: ev, Attempt: attempt}) })
	if ctx.Err() != nil {
		// Shutting down: the server redelivers after AckWait.
		return ctx.Err()
	}
	if ferr != nil {
		err = msg.NakWithDelay(c.Backoff(attempt))
	} else {
		err = msg.DoubleAck(ctx)
	}
	if err != nil {
		// The server redelivers what it did not hear about; fn must be
		// idempotent anyway.
		return unavailable("consumer "+c.Durable+" answer", err)
	}
	return nil
}

// whileInProgress runs f, telling the server every third of AckWait that
// the message is still being worked on.
func (l *Log) whileInProgress(ctx context.Context, c Consumer, msg jetstream.Msg, f func() error) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(c.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return f()
}

func (c Consumer) withDefaults() Consumer {
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff(time.Second, 5*time.Minute)
	}
	return c
}

// ExponentialBackoff doubles base with each attempt, up to max.
func ExponentialBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}
