package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultStream is the stream that holds every event.
const DefaultStream = "KEYPLANE"

// Options says where the log is.
type Options struct {
	// URL of an external NATS server or cluster (comma-separated). Empty
	// starts an embedded server with file storage under DataDir.
	URL     string
	DataDir string
	// Stream name; DefaultStream when empty.
	Stream string
	// Replicas is the stream's replication factor on a cluster.
	Replicas int
	// FsyncInterval relaxes the embedded server's fsync-before-ack; zero
	// means fsync always.
	FsyncInterval time.Duration
	// ListenAddr, when set, lets other processes reach the embedded server
	// ("127.0.0.1:4222"); by default it takes only in-process connections.
	ListenAddr string
	// Credentials file for a secured cluster; optional.
	CredsFile string
	// RootCAs / client certificate for TLS to a secured cluster; optional.
	TLSCA, TLSCert, TLSKey string
	Logger                 *slog.Logger
}

// Log is an open event log.
type Log struct {
	// acked decodes the events Commit hands to the projections, sharing
	// what recurs between them (command.go).
	acked  ackedDecoder
	opts   Options
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	name   string
	commit *committer
	// ackWait overrides batchTimeout (tests make answers "time out" fast).
	ackWait time.Duration
	unlock  func() // releases the data dir's lock (lock.go)

	// fresh is how current the subscription's fold is known to be
	// (freshness.go, watch.go).
	fresh freshness

	// conflicts counts appends refused for a stale expected sequence
	// (health.go reports it).
	conflicts atomic.Uint64

	// snapStore is the snapshot object store once opened (snapshot.go).
	snapStore struct {
		sync.Mutex
		obs jetstream.ObjectStore
	}
}

// Open connects to (or starts) the log and makes sure the stream exists.
func Open(ctx context.Context, o Options) (*Log, error) {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	l := &Log{opts: o, name: o.Stream}
	var err error
	if o.URL == "" {
		if l.unlock, err = lockDataDir(o.DataDir); err != nil {
			return nil, err
		}
		if l.srv, err = startEmbedded(o); err != nil {
			l.unlock()
			return nil, err
		}
		l.nc, err = nats.Connect("", nats.InProcessServer(l.srv), nats.Name("keyplane"), nats.MaxReconnects(-1))
	} else {
		l.nc, err = nats.Connect(o.URL, clientOptions(o)...)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("eventlog: connect: %w", err)
	}
	if l.js, err = jetstream.New(l.nc); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.ensureStream(ctx); err != nil {
		l.Close()
		return nil, err
	}
	l.commit = newCommitter(l)
	return l, nil
}

func clientOptions(o Options) []nats.Option {
	opts := []nats.Option{nats.Name("keyplane"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	return opts
}

func startEmbedded(o Options) (*server.Server, error) {
	if o.DataDir == "" {
		return nil, errors.New("eventlog: an embedded server needs a data dir")
	}
	so := &server.Options{
		ServerName: "keyplane",
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "jetstream"),
		DontListen: o.ListenAddr == "",
		NoSigs:     true,
		NoLog:      true,
		// Fsync before acknowledging: an acknowledged command survives a
		// power cut. Group commit wins the throughput back.
		SyncAlways:   o.FsyncInterval == 0,
		SyncInterval: o.FsyncInterval,
	}
	if o.ListenAddr != "" {
		host, port, ok := strings.Cut(o.ListenAddr, ":")
		if !ok {
			return nil, fmt.Errorf("eventlog: listen address %q is not host:port", o.ListenAddr)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("eventlog: listen port %q: %w", port, err)
		}
		so.Host, so.Port = host, p
	}
	s, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("eventlog: start embedded nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, errors.New("eventlog: embedded nats-server not ready in 30s")
	}
	return s, nil
}

// DuplicateWindow is how long the stream remembers a Nats-Msg-Id. A
// restart costs the server a read of every event appended within it (to
// rebuild what it remembers), so a restart right after heavy writing is
// slower than one later.
const DuplicateWindow = 2 * time.Minute

// ensureStream creates or updates the stream, retried while JetStream is
// not ready yet (meta leader election; see retrySetup).
func (l *Log) ensureStream(ctx context.Context) error {
	cfg := jetstream.StreamConfig{
		Name:               l.name,
		Subjects:           []string{"kp.>"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Replicas:           l.opts.Replicas,
		DenyDelete:         true,
		DenyPurge:          true,
		Duplicates:         DuplicateWindow,
		AllowAtomicPublish: true,
		// Any server holding the stream answers reads, the leader or not:
		// a replica whose subscription fell behind catches up through
		// them (watch.go), even while the stream elects a leader.
		AllowDirect: true,
		MaxMsgSize:  1 << 20,
	}
	err := retrySetup(ctx, func(ctx context.Context) (err error) {
		l.stream, err = l.js.CreateOrUpdateStream(ctx, cfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("eventlog: create stream %s: %w", l.name, err)
	}
	return nil
}

// Close drains the connection and stops an embedded server.
func (l *Log) Close() {
	if l.commit != nil {
		l.commit.close()
	}
	if l.nc != nil {
		l.nc.Close()
	}
	if l.srv != nil {
		l.srv.Shutdown()
		l.srv.WaitForShutdown()
	}
	if l.unlock != nil {
		l.unlock()
	}
}

// Conn exposes the NATS connection to packages that keep their own
// JetStream state through this package's helpers (KV snapshots, consumers).
func (l *Log) JetStream() jetstream.JetStream { return l.js }

// StreamName is the name of the event stream.
func (l *Log) StreamName() string { return l.name }

// Server is the embedded server, nil when connected to an external one.
func (l *Log) Server() *server.Server { return l.srv }

// Append is one event to write and the aggregate's expected last sequence.
type Append struct {
	Event domain.Event
	// Expect is the expected last sequence of the event's subject; 0 means
	// the subject must be empty. AnySeq skips the check.
	Expect uint64
	AnySeq bool

	// data is Event as stored, once Append has checked that it reads back.
	data []byte
}

// encoded is the event as stored: as Append checked it, else encoded now.
func (a Append) encoded() ([]byte, error) {
	if a.data != nil {
		return a.data, nil
	}
	return json.Marshal(a.Event)
}

// Append writes the events of one command atomically, each with its
// concurrency check, and returns their stream sequences. Concurrent calls
// are committed together (see batch.go).
//
// Every event is written only once keyplane's readers have read it back
// (eventcodec.EncodeEvent): whatever is in the log decodes. One that would
// not is refused, and nothing of the command is written.
func (l *Log) Append(ctx context.Context, apps ...Append) ([]uint64, error) {
	if len(apps) == 0 {
		return nil, nil
	}
	apps = append([]Append(nil), apps...) // the caller's stay as they were
	for i := range apps {
		data, err := eventcodec.EncodeEvent(apps[i].Event)
		if err != nil {
			return nil, err
		}
		apps[i].data = data
	}
	if !l.Connected() {
		// While the client reconnects, a publish would sit in its buffer
		// and the command would wait out its deadline: answer now, the
		// caller retries (503 + Retry-After).
		return nil, unavailable("append", nats.ErrConnectionReconnecting)
	}
	seqs, err := l.commit.submit(ctx, apps)
	if domain.IsKind(err, domain.KindConflict) {
		l.conflicts.Add(1)
	}
	if err == nil {
		l.announce(seqs[len(seqs)-1])
	}
	return seqs, err
}

func (l *Log) appendOne(ctx context.Context, a Append) (uint64, error) {
	ack, err := l.publishAsync(a)
	if err != nil {
		return 0, unavailable("append", err)
	}
	return l.awaitAck(ctx, a, ack, nil)
}

func (l *Log) ackTimeout() time.Duration {
	if l.ackWait > 0 {
		return l.ackWait
	}
	return batchTimeout
}

// publishAsync sends one event with its message id and concurrency check.
func (l *Log) publishAsync(a Append) (jetstream.PubAckFuture, error) {
	data, err := a.encoded()
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(Subject(a.Event))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, a.Event.ID)
	if !a.AnySeq {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(a.Expect, 10))
	}
	return l.js.PublishMsgAsync(m)
}

// ackAnswer is the answer to a publish: an acknowledgement or an error.
type ackAnswer struct {
	pa  *jetstream.PubAck
	err error
}

// answerWithin is ack's answer if it comes within d (ok false otherwise).
func answerWithin(ack jetstream.PubAckFuture, d time.Duration) (ans *ackAnswer, ok bool) {
	// An answer already there is taken even when d is spent.
	select {
	case pa := <-ack.Ok():
		return &ackAnswer{pa: pa}, true
	case err := <-ack.Err():
		return &ackAnswer{err: err}, true
	default:
	}
	if d <= 0 {
		return nil, false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case pa := <-ack.Ok():
		return &ackAnswer{pa: pa}, true
	case err := <-ack.Err():
		return &ackAnswer{err: err}, true
	case <-t.C:
		return nil, false
	}
}

// Retries of a publish whose answer did not come.
const (
	// ackGiveUp is how long a publish is retried before its command
	// answers 503 (a retry with the same Idempotency-Key finds out).
	ackGiveUp = 15 * time.Second
	// noLeaderPause is the pause before publishing again after the stream
	// answered at once that it cannot take it (no leader, or the previous
	// attempt is still being stored): short, so that commands resume as
	// soon as a leader is elected.
	noLeaderPause = 100 * time.Millisecond
)

// awaitAck waits for the answer to an event's publish. A stale expected
// sequence is a conflict, unless the subject's last event is this one (a
// retry whose first attempt was stored). An answer that never came is
// resolved the same way, and otherwise retried under the same message id,
// which makes the retry harmless, until ackGiveUp.
//
// first, when not nil, is the answer already taken from ack.
func (l *Log) awaitAck(ctx context.Context, a Append, ack jetstream.PubAckFuture, first *ackAnswer) (uint64, error) {
	subj := Subject(a.Event)
	start := time.Now()
	for {
		var err error
		if first != nil {
			if first.err == nil {
				return first.pa.Sequence, nil
			}
			err, first = first.err, nil
		} else {
			select {
			case pa := <-ack.Ok():
				return pa.Sequence, nil
			case err = <-ack.Err():
			case <-time.After(l.ackTimeout()):
				err = nats.ErrTimeout
			case <-ctx.Done():
				// The command's deadline passed: it answers 503 now. The
				// write may still land; a retry with the same
				// Idempotency-Key finds it.
				return 0, unavailable("append", ctx.Err())
			}
		}
		if isWrongLastSeq(err) {
			if seq, ok := l.storedAsLast(ctx, subj, a.Event.ID); ok {
				return seq, nil
			}
			return 0, errConflict
		}
		// A connection lost with the answer pending (a server died) is
		// resolved like a timeout, on the server the client reconnected to.
		retry := isTimeout(err) || errors.Is(err, nats.ErrDisconnected) || isStoring(err)
		if !retry || time.Since(start) > ackGiveUp {
			return 0, unavailable("append", err)
		}
		if seq, ok := l.storedAsLast(ctx, subj, a.Event.ID); ok {
			return seq, nil
		}
		if !errors.Is(err, nats.ErrTimeout) {
			// Refused at once: a leader is being elected.
			select {
			case <-time.After(noLeaderPause):
			case <-ctx.Done():
				return 0, unavailable("append", ctx.Err())
			}
		}
		if ack, err = l.publishAsync(a); err != nil {
			return 0, unavailable("append", err)
		}
	}
}

// isStoring is the stream refusing a publish whose message id is being
// stored right now (an earlier attempt of the same publish): the retry
// after it finds that one stored.
func isStoring(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(10158)
}

// storedAsLast reports whether the subject's last event is id.
func (l *Log) storedAsLast(ctx context.Context, subj, id string) (uint64, bool) {
	// Bounded like an ack: without a stream leader the read would wait
	// out the command's whole deadline, holding the commands behind it.
	ctx, cancel := context.WithTimeout(ctx, l.ackTimeout())
	defer cancel()
	ev, err := l.Last(ctx, subj)
	if err != nil || ev == nil || ev.ID != id {
		return 0, false
	}
	return ev.Seq, true
}

// Last returns the subject's last event, nil if the subject is empty.
func (l *Log) Last(ctx context.Context, subj string) (*domain.Event, error) {
	msg, err := l.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("read last", err)
	}
	ev, err := decode(msg.Data, msg.Sequence)
	ev = readable(ev, err, msg.Sequence, msg.Subject, msg.Header.Get(jetstream.MsgIDHeader), msg.Time)
	return &ev, nil
}

// LastSeq is the stream's last sequence.
// The stream's leader answers it: it confirms whatever the subscription
// has applied up to it (Freshness).
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	at := time.Now()
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, unavailable("stream info", err)
	}
	l.fresh.learn(info.State.LastSeq, at, hasQuorum(info))
	return info.State.LastSeq, nil
}

// Aggregates is how many subjects the log holds events on: an upper bound
// on its aggregates of any one kind (each has its subject), which the
// server keeps counted. A fold from the start sizes its projections with it.
func (l *Log) Aggregates(ctx context.Context) (int, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, unavailable("stream info", err)
	}
	return int(info.State.NumSubjects), nil
}

// decode reads the event stored at seq. The event's Data shares data's
// memory: every caller hands over a buffer of its own (nats.go copies each
// message's payload out of its read buffer).
func decode(data []byte, seq uint64) (domain.Event, error) {
	ev, err := eventcodec.DecodeEvent(data)
	return withSeq(ev, err, seq)
}

// decodeWith is decode for a run of events, payload included (see
// eventcodec.Decoder).
func decodeWith(d *eventcodec.Decoder, data []byte, seq uint64) (domain.Event, error) {
	ev, err := d.Event(data)
	return withSeq(ev, err, seq)
}

func withSeq(ev domain.Event, err error, seq uint64) (domain.Event, error) {
	if err != nil {
		return ev, fmt.Errorf("eventlog: event at %d does not decode: %w", seq, err)
	}
	ev.Seq = seq
	return ev, nil
}

// errConflict is what a stale expected sequence becomes.
var errConflict error = domain.ErrConflict

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return strings.Contains(err.Error(), "wrong last sequence")
}

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

func unavailable(op string, err error) error {
	return &domain.Error{Kind: domain.KindUnavailable, Op: "eventlog " + op, Reason: "the event log is unavailable, retry later", Err: err}
}
