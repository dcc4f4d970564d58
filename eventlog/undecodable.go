package eventlog

import (
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Undecodable is how the log's readers deliver an event they cannot decode
// (JSON too deep or broken, an envelope of another shape): with its
// sequence, its id from the Nats-Msg-Id header, and its aggregate as its
// subject names it (kp.<tenant>.<type>.<id>), but no type and no payload.
// The readers also give it the time the log stored it, for want of its
// own.
// A reader carries on past it instead of stopping at it for good; a fold
// refuses it (Decode fails), and projections.Runner quarantines what its
// subject concerns. Nothing of its content is kept: it may hold anything.
func Undecodable(seq uint64, subject, id string) domain.Event {
	ev := domain.Event{ID: id, Seq: seq}
	if t, typ, id, ok := ParseSubject(subject); ok {
		ev.Tenant, ev.AggType, ev.AggID = t, typ, id
	}
	return ev
}

// IsUndecodable says whether ev is an Undecodable stand-in.
func IsUndecodable(ev domain.Event) bool { return ev.Type == "" && ev.Data == nil }

// readable is a read event or, when it did not decode, its stand-in,
// stored at at.
func readable(ev domain.Event, err error, seq uint64, subject, id string, at time.Time) domain.Event {
	if err != nil {
		ev = Undecodable(seq, subject, id)
		ev.Time = at.UTC()
	}
	return ev
}
