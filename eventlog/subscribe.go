package eventlog

import (
	"context"
	"errors"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go/jetstream"
)

// Subscribe delivers every event from sequence from (1 = the beginning) to
// fn, in log order, one at a time, until ctx ends or fn fails. It uses an
// ordered consumer, which resumes by itself after reconnects.
func (l *Log) Subscribe(ctx context.Context, from uint64, fn func(domain.Event) error) error {
	if from == 0 {
		from = 1
	}
	cons, err := l.js.OrderedConsumer(ctx, l.name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"kp.>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return unavailable("subscribe", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return unavailable("subscribe", err)
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
			return unavailable("subscribe", err)
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
	}
}
