package eventlog

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Health is what the log can tell a readiness probe about itself.
type Health struct {
	// Connected is whether this process holds a live connection to a NATS
	// server (reconnecting counts as not connected).
	Connected bool `json:"connected"`
	// Server is the server this process is connected to (its name).
	Server string `json:"server,omitempty"`
	// LastSeq is the stream's last sequence.
	LastSeq uint64 `json:"last_seq"`
	// Replicas is the stream's replication factor, Leader the server that
	// leads it and Current how many of its replicas (the leader included)
	// are up to date with the leader.
	Replicas int    `json:"replicas"`
	Leader   string `json:"leader,omitempty"`
	Current  int    `json:"current"`
	// Embedded is true when the log runs in this process.
	Embedded bool `json:"embedded"`
	// Fsync is the servers' fsync policy when this process can know it
	// ("always" or an interval, for an embedded server), "" when it cannot
	// (an external server does not tell its clients).
	Fsync string `json:"fsync,omitempty"`
}

// peerSilence is how long a stream replica may go unheard (the servers
// exchange heartbeats every second) and still count as current.
const peerSilence = 3 * time.Second

// Connected reports whether the connection to NATS is up right now. It is
// cheap: no round trip.
func (l *Log) Connected() bool { return l.nc != nil && l.nc.IsConnected() }

// Health asks the stream for its state: one JetStream API round trip.
func (l *Log) Health(ctx context.Context) (Health, error) {
	h := Health{Connected: l.Connected(), Embedded: l.srv != nil}
	if h.Connected {
		h.Server = l.nc.ConnectedServerName()
	}
	if l.srv != nil {
		h.Fsync = "always"
		if l.opts.FsyncInterval > 0 {
			h.Fsync = l.opts.FsyncInterval.String()
		}
	}
	info, err := l.stream.Info(ctx)
	if err != nil {
		return h, unavailable("stream info", err)
	}
	h.LastSeq, h.Replicas = info.State.LastSeq, info.Config.Replicas
	h.Current = currentReplicas(info)
	if c := info.Cluster; c != nil {
		h.Leader = c.Leader
	}
	return h, nil
}

// currentReplicas is how many of the stream's replicas, its leader
// included, are up to date with the leader.
func currentReplicas(info *jetstream.StreamInfo) int {
	n := 1
	if c := info.Cluster; c != nil {
		for _, p := range c.Replicas {
			// The server calls a silent peer current for ten seconds; a
			// peer that missed three heartbeats is not.
			if p.Current && !p.Offline && p.Active < peerSilence {
				n++
			}
		}
	}
	return n
}

// hasQuorum says the stream's leader, as info describes it, still leads a
// majority: only such a leader's last sequence is the last acknowledged
// one (a leader cut off from its peers answers for a while, while the
// others may elect another and go on).
func hasQuorum(info *jetstream.StreamInfo) bool {
	return currentReplicas(info) >= info.Config.Replicas/2+1
}

// EventTime is when the event at seq was written (by its writer's clock):
// how old the oldest event a reader has not applied yet is.
func (l *Log) EventTime(ctx context.Context, seq uint64) (time.Time, error) {
	ev, err := l.Event(ctx, seq)
	if err != nil {
		return time.Time{}, err
	}
	return ev.Time, nil
}

// Conflicts counts appends refused because an aggregate had moved on (a
// stale expected sequence), since the log was opened.
func (l *Log) Conflicts() uint64 { return l.conflicts.Load() }
