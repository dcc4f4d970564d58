package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// probeEvery is how often the stream leader is asked for its last
	// sequence: how fine Freshness.ConfirmedAt is.
	probeEvery = 50 * time.Millisecond
	// probeTimeout bounds one such question: without a leader nobody
	// answers it.
	probeTimeout = 500 * time.Millisecond
	// fillEvery is how often the watch looks whether the subscription is
	// late; fillGrace how late it may be before the watch fetches what it
	// misses itself. A healthy subscription delivers within milliseconds.
	fillEvery = 25 * time.Millisecond
	fillGrace = 50 * time.Millisecond
	// fillBatch is how many events one direct read returns at most.
	fillBatch = 256
	// kickEvery bounds how often a late follow is started over: while the
	// cluster has no leader a new one may fail to start for seconds, and
	// the watch delivers meanwhile.
	kickEvery = time.Second
)

// Freshness is how current this log's subscription is known to be (see
// freshness.go), applied being what the subscriber holds: it may have
// folded events before the subscription delivered them (its own, as they
// were acknowledged). It takes no lock unless applied is news.
func (l *Log) Freshness(applied uint64) Freshness {
	l.fresh.advance(applied)
	return l.fresh.snapshot()
}

// watch runs beside a subscription until ctx ends: it learns of events
// from the stream leader and from the other replicas' announcements, and
// delivers itself what the follow is late with. A delivery that fails ends
// the subscription (cancel) with its error.
func (s *subscription) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	l := s.l
	nudge := make(chan struct{}, 1)
	unsub := l.listenAnnounced(func(seq uint64) {
		l.fresh.learn(seq, time.Now(), false)
		select {
		case nudge <- struct{}{}:
		default:
		}
	})
	defer unsub()
	go s.probe(ctx)
	tick := time.NewTicker(fillEvery)
	defer tick.Stop()
	var lastKick time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-nudge:
			// The follow gets fillGrace to deliver what was announced.
			select {
			case <-ctx.Done():
				return
			case <-time.After(fillGrace):
			}
		}
		f := l.fresh.snapshot()
		if f.Behind(time.Now()) < fillGrace {
			continue
		}
		delivered, err := s.fill(ctx)
		if err != nil {
			cancel(err)
			return
		}
		if delivered && time.Since(lastKick) >= kickEvery {
			lastKick = time.Now()
			l.opts.Logger.Warn("event subscription fell behind; caught up through direct reads, following again", "next", s.from())
			s.kick()
		}
	}
}

// probe asks the stream leader for its last sequence every probeEvery.
func (s *subscription) probe(ctx context.Context) {
	l := s.l
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		at := time.Now()
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		info, err := l.stream.Info(pctx)
		cancel()
		if err == nil {
			l.fresh.learn(info.State.LastSeq, at, hasQuorum(info))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fill reads the events after the last delivered one through any server
// of the stream and delivers them, until none is left or the read fails.
// It reports whether it delivered anything; an error is fn's.
func (s *subscription) fill(ctx context.Context) (bool, error) {
	delivered := false
	for ctx.Err() == nil {
		evs, more, err := s.l.readDirect(ctx, s.from(), fillBatch)
		if err != nil || len(evs) == 0 {
			return delivered, nil // the follow or the next look may do better
		}
		for _, ev := range evs {
			if ev.Seq > s.from() {
				// The server that answered lacks the events before (it
				// is catching up): never skip them; the follow or the
				// next look reads them elsewhere.
				return delivered, nil
			}
			if err := s.deliver(ev); err != nil {
				return delivered, err
			}
		}
		delivered = true
		if !more {
			return delivered, nil
		}
	}
	return delivered, nil
}

// readDirect reads up to n events from sequence from on with one batched
// direct get, which any current server of the stream answers (the leader
// or not). more says the server holds events after them.
func (l *Log) readDirect(ctx context.Context, from uint64, n int) (evs []domain.Event, more bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	inbox := l.nc.NewInbox()
	sub, err := l.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, false, err
	}
	defer sub.Unsubscribe()
	req := fmt.Appendf(nil, `{"seq":%d,"batch":%d}`, from, n)
	if err := l.nc.PublishRequest("$JS.API.DIRECT.GET."+l.name, inbox, req); err != nil {
		return nil, false, err
	}
	var d eventcodec.Decoder
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return evs, false, err
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "404": // nothing at or after from
			return evs, false, nil
		case "204": // end of the batch
			pending, _ := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			return evs, pending > 0, nil
		default:
			return evs, false, fmt.Errorf("direct get: status %s %s", status, msg.Header.Get("Description"))
		}
		ev, err := directEvent(&d, msg)
		if err != nil {
			return evs, false, err
		}
		evs = append(evs, ev)
	}
}

// directEvent decodes one message of a direct get; one that does not
// decode comes as Undecodable, as on the subscription.
func directEvent(d *eventcodec.Decoder, msg *nats.Msg) (domain.Event, error) {
	seq, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil || seq == 0 {
		return domain.Event{}, errors.New("direct get: message without a sequence")
	}
	ev, err := decodeWith(d, msg.Data, seq)
	if err != nil {
		at, _ := time.Parse(time.RFC3339Nano, msg.Header.Get(jetstream.TimeStampHeaer))
		ev = readable(ev, err, seq, msg.Header.Get(jetstream.SubjectHeader), msg.Header.Get(jetstream.MsgIDHeader), at)
	}
	return ev, nil
}
