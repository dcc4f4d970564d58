package eventlog

import (
	"strconv"

	"github.com/nats-io/nats.go"
)

// Every replica announces, on a core NATS subject beside the stream, the
// last sequence of each command it had acknowledged. The announcement
// reaches the other replicas in a millisecond through any server, with or
// without a stream leader; a replica whose subscription did not deliver
// that event soon after knows it is behind (freshness.go) and fetches it
// or, if no server can serve it yet, refuses to authenticate until it can.
// Announcements are at most once: a lost one costs only the speed of that
// knowledge (the leader probe still finds the gap). They carry a sequence,
// nothing of the event.

// announceSubject is where the log's stream's acknowledgements are
// announced; it is outside the stream's subjects (kp.>).
func (l *Log) announceSubject() string { return "keyplane.acked." + l.name }

// announce tells the other replicas that the log holds seq.
func (l *Log) announce(seq uint64) {
	var buf [20]byte
	// Best effort: a failure (the connection is down) loses only speed.
	_ = l.nc.Publish(l.announceSubject(), strconv.AppendUint(buf[:0], seq, 10))
}

// listenAnnounced calls fn with every sequence announced (by any replica,
// this one included) until the returned stop is called.
func (l *Log) listenAnnounced(fn func(seq uint64)) (stop func()) {
	sub, err := l.nc.Subscribe(l.announceSubject(), func(m *nats.Msg) {
		if seq, err := strconv.ParseUint(string(m.Data), 10, 64); err == nil && seq > 0 {
			fn(seq)
		}
	})
	if err != nil {
		l.opts.Logger.Warn("cannot listen to other replicas' acknowledgements; relying on the leader probe", "err", err)
		return func() {}
	}
	return func() { _ = sub.Unsubscribe() }
}
