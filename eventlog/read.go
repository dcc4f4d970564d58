package eventlog

import (
	"context"
	"errors"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
	"github.com/nats-io/nats.go/jetstream"
)

// Range selects a stretch of the log to read once (not to follow).
type Range struct {
	// From is the first sequence (0 and 1 both mean the beginning).
	From uint64
	// To is the last sequence, inclusive; 0 means the log's last sequence
	// when the read starts. Events appended later are not delivered.
	To uint64
	// Subject, when set, keeps only events on matching subjects (see
	// TenantSubjects and KeySubjects); the sequences stay the stream's.
	Subject string
}

// ErrStop ends a read early without error when a callback returns it.
var ErrStop = errors.New("eventlog: stop reading")

// TenantSubjects matches every aggregate of one organization.
func TenantSubjects(t domain.TenantID) string { return "kp." + string(t) + ".>" }

// KeySubjects matches the key aggregates of one organization.
func KeySubjects(t domain.TenantID) string { return "kp." + string(t) + "." + domain.AggKey + ".>" }

// ReadRange delivers the events of r to fn in log order and returns once the
// last one was delivered. Unlike Subscribe it ends: it is how a replay, an
// as-of query and an export read history. Events come with their payload
// decoded (domain.Event.Decoded); an event this binary cannot decode comes
// as it is, for fn to judge, and one whose envelope does not decode comes
// as Undecodable.
func (l *Log) ReadRange(ctx context.Context, r Range, fn func(domain.Event) error) error {
	return l.ReadBatches(ctx, r, func(evs []domain.Event) error {
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadBatches is ReadRange delivering runs of consecutive events: what a
// fold of millions takes, paying per run what it would otherwise pay per
// event (Runner.ApplyAll). evs is fn's only during the call.
//
// Decoding JSON is most of what a replay costs, so it runs on other
// goroutines, a few batches ahead of fn, while fn folds in order.
func (l *Log) ReadBatches(ctx context.Context, r Range, fn func(evs []domain.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered := make(chan *readBatch, 2*readWorkers)
	work := make(chan *readBatch, 2*readWorkers)
	// A batch's array of events is free again once fn returned: spare
	// hands it to the next batch.
	spare := make(chan []domain.Event, 2*readWorkers+2)
	scanErr := make(chan error, 1)
	go func() { scanErr <- l.scanBatches(ctx, r, ordered, work) }()
	for range readWorkers {
		go func() {
			var d eventcodec.Decoder
			for b := range work {
				b.decode(&d, spare)
			}
		}()
	}
	err, early := deliver(ordered, spare, fn)
	// However the read ends, its scan has ended when ReadBatches returns,
	// and with it the read's consumer on the server (dropReader).
	cancel()
	for range ordered { // a scan blocked on a full channel sees the cancel
	}
	scanned := <-scanErr
	if early {
		return err
	}
	return scanned
}

// deliver hands the batches in ordered to fn, in order, each once decoded.
// early says fn or a batch ended the read before ordered did.
func deliver(ordered <-chan *readBatch, spare chan<- []domain.Event, fn func([]domain.Event) error) (err error, early bool) {
	for b := range ordered {
		<-b.done
		if err := fn(b.events); err != nil {
			if errors.Is(err, ErrStop) {
				return nil, true
			}
			return err, true
		}
		clear(b.events) // drop what they point to
		select {
		case spare <- b.events:
		default:
		}
	}
	return nil, false
}

// scanBatches reads r in batches, each sent in log order to ordered (where
// ReadRange waits for it to be decoded) and to work (where a worker decodes
// it). It closes both when done; once ctx ends it stops sending.
func (l *Log) scanBatches(ctx context.Context, r Range, ordered, work chan<- *readBatch) error {
	defer close(ordered)
	defer close(work)
	b := newReadBatch()
	flush := func() bool {
		select {
		case ordered <- b:
		case <-ctx.Done():
			return false
		}
		work <- b
		b = newReadBatch()
		return true
	}
	err := l.scan(ctx, r, func(seq uint64, subject string, at time.Time, data []byte) error {
		b.add(seq, subject, at, data)
		if len(b.seqs) == readBatchSize && !flush() {
			return ctx.Err()
		}
		return nil
	})
	if err == nil && len(b.seqs) > 0 {
		flush()
	}
	return err
}

// readBatchSize events are decoded together; readWorkers decode at once.
const (
	readBatchSize = 256
	readWorkers   = 2
)

// readBatch is a run of raw events, then the same decoded. The raw events
// are the messages' own buffers (see Scan), which the decoded events'
// Data share: nothing is copied.
type readBatch struct {
	seqs   []uint64
	subjs  []string    // for an event that does not decode (Undecodable)
	times  []time.Time // the same
	raw    [][]byte
	events []domain.Event
	done   chan struct{}
}

func newReadBatch() *readBatch {
	return &readBatch{
		seqs:  make([]uint64, 0, readBatchSize),
		subjs: make([]string, 0, readBatchSize),
		times: make([]time.Time, 0, readBatchSize),
		raw:   make([][]byte, 0, readBatchSize),
		done:  make(chan struct{}),
	}
}

func (b *readBatch) add(seq uint64, subject string, at time.Time, data []byte) {
	b.seqs = append(b.seqs, seq)
	b.subjs = append(b.subjs, subject)
	b.times = append(b.times, at)
	b.raw = append(b.raw, data)
}

// decode decodes the batch's events with their payloads (an event whose
// payload this binary cannot decode comes without, for fn to judge; one
// that does not decode at all comes as Undecodable, without its id, which
// a batch does not read).
func (b *readBatch) decode(d *eventcodec.Decoder, spare <-chan []domain.Event) {
	defer close(b.done)
	select {
	case evs := <-spare:
		b.events = evs[:len(b.seqs)]
	default:
		b.events = make([]domain.Event, len(b.seqs), readBatchSize)
	}
	for i, seq := range b.seqs {
		ev, err := decodeWith(d, b.raw[i], seq)
		b.events[i] = readable(ev, err, seq, b.subjs[i], "", b.times[i])
	}
}

// Scan is ReadRange without decoding: fn gets each event's sequence and raw
// JSON, which is that message's own buffer (nats.go copies each payload out
// of its read buffer), so fn may keep it but must not change it. It exists
// so that the cost of reading the log can be told apart from the cost of
// folding it.
func (l *Log) Scan(ctx context.Context, r Range, fn func(seq uint64, data []byte) error) error {
	return l.scan(ctx, r, func(seq uint64, _ string, _ time.Time, data []byte) error { return fn(seq, data) })
}

// scan is Scan giving each event's subject and the time the log stored it
// too.
func (l *Log) scan(ctx context.Context, r Range, fn func(seq uint64, subject string, at time.Time, data []byte) error) error {
	to, err := l.rangeEnd(ctx, r)
	if err != nil || to == 0 || to < r.From {
		return err
	}
	from := max(r.From, 1)
	cfg := jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
	}
	// An ordered consumer rather than the stream's direct batch gets
	// without headers (no_hdr): those spare the client its header maps
	// but cost the server a fresh buffer per message, 3.1 KB allocated
	// an event against 2.6 KB, at the same CPU (nats-server 2.15).
	//
	// The whole stream is read without a filter: the stream holds only
	// kp.>, and a filter, even that one, makes the server match every
	// event's subject on the way (an eighth of a raw read's CPU).
	if r.Subject != "" {
		cfg.FilterSubjects = []string{r.Subject}
	}
	cons, err := l.js.OrderedConsumer(ctx, l.name, cfg)
	if err != nil {
		return unavailable("read", err)
	}
	defer l.dropReader(cons)
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return unavailable("read", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return unavailable("read", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return unavailable("read", err)
		}
		seq := md.Sequence.Stream
		if seq > to {
			return nil
		}
		if err := fn(seq, msg.Subject(), md.Timestamp, msg.Data()); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if seq == to {
			return nil
		}
	}
}

// dropReader deletes a finished read's consumer from the server. nats.go
// leaves an ordered consumer there when its reader stops, for the server
// to drop after five idle minutes: a server answering as-of queries and
// exports would keep one, and its three goroutines, for every read of the
// last five minutes. A delete that fails leaves it to that timeout.
func (l *Log) dropReader(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.ackTimeout())
	defer cancel()
	_ = l.stream.DeleteConsumer(ctx, info.Name)
}

// rangeEnd is the sequence of the last event the read delivers: r.To
// bounded by the last event on its subjects, 0 when there is none. Knowing
// it up front is what lets a read end instead of waiting for more.
func (l *Log) rangeEnd(ctx context.Context, r Range) (uint64, error) {
	last, err := l.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	if r.Subject != "" {
		msg, err := l.stream.GetLastMsgForSubject(ctx, r.Subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, unavailable("read last", err)
		}
		last = msg.Sequence
	}
	if r.To != 0 && r.To < last {
		last = r.To
	}
	return last, nil
}

// Event reads the event stored at seq: how the audit trail shows an entry
// straight from the log. A sequence that holds nothing is not found; one
// that does not decode comes as Undecodable.
func (l *Log) Event(ctx context.Context, seq uint64) (domain.Event, error) {
	msg, err := l.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return domain.Event{}, domain.NotFound("no event at sequence %d", seq)
	}
	if err != nil {
		return domain.Event{}, unavailable("read event", err)
	}
	ev, err := decode(msg.Data, msg.Sequence)
	return readable(ev, err, msg.Sequence, msg.Subject, msg.Header.Get(jetstream.MsgIDHeader), msg.Time), nil
}
