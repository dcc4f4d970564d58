package domain

import (
	"encoding/json"
	"time"
)

// Aggregate types: an aggregate is (tenant, type, id), and eventlog names
// its subject.
const (
	AggKey     = "key"
	AggOrg     = "org"
	AggUser    = "user"
	AggOrgName = "orgname" // claim that keeps an organization name unique
	AggIdem    = "idem"    // claim of a create's Idempotency-Key
	AggNotice  = "notice"  // one expiry notice: <key-id>-<window>-<expiry unix>
)

// ActorKind says what acted: a member (user), an API key, or keyplane itself.
type ActorKind string

const (
	ActorUser   ActorKind = "user"
	ActorKey    ActorKind = "api_key"
	ActorSystem ActorKind = "system"
)

// Actor is who caused an event.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id"`
	Name string    `json:"name,omitempty"`
	// User is the member on whose behalf a key acted.
	User string `json:"user,omitempty"`
	// Realm tells a project-local user of the Elasticsearch surface
	// (RealmProject) from a member of the same name; empty for members.
	Realm string `json:"realm,omitempty"`
}

// Source is where the request came from.
type Source struct {
	Addr      string `json:"addr,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Meta is the part of an event's envelope a command handler fills in from
// the request: who, from where, under which correlation id, and when.
type Meta struct {
	Actor         Actor
	Source        Source
	CorrelationID string
	Time          time.Time
}

// Event is the envelope of everything in the log. Data holds the payload
// whose schema is named by Type and Version.
type Event struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Version       int             `json:"v"`
	Tenant        TenantID        `json:"tenant"`
	AggType       string          `json:"agg_type"`
	AggID         string          `json:"agg_id"`
	Actor         Actor           `json:"actor"`
	Source        Source          `json:"source"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Time          time.Time       `json:"time"`
	Data          json.RawMessage `json:"data"`

	// Seq is the stream sequence, set when the event is read from the log.
	Seq uint64 `json:"-"`
	// payload is Data decoded once (Decoded), for several folds of one event.
	payload Payload
	// unencodable is why NewEvent could not encode the payload: EncodeEvent
	// refuses the event for it, so nothing writes it.
	unencodable error
}

// Payload is an event body with a stable type name and schema version.
type Payload interface {
	EventType() string
	EventVersion() int
}

// NewEvent wraps payload p for aggregate (tenant, aggType, aggID). A
// payload that does not encode (a role descriptor past encoding/json's
// depth) makes an event that EncodeEvent refuses: a request's content,
// not a programming error, can cause it.
func NewEvent(id string, t TenantID, aggType, aggID string, m Meta, p Payload) Event {
	data, err := json.Marshal(p)
	return Event{
		ID: id, Type: p.EventType(), Version: p.EventVersion(), Tenant: t, AggType: aggType, AggID: aggID,
		Actor: m.Actor, Source: m.Source, CorrelationID: m.CorrelationID, Time: m.Time.UTC(), Data: data,
		unencodable: err,
	}
}

// Decode returns the event's payload at the current schema version, upcasting
// older versions. An unknown type or version is an error.
func (e Event) Decode() (Payload, error) {
	if e.payload != nil {
		return e.payload, nil
	}
	f, ok := decoders[decoderKey{e.Type, e.Version}]
	if !ok {
		return nil, E(KindInternal, "unknown event %s v%d", e.Type, e.Version)
	}
	return f(e.Data)
}

// WithPayload returns e holding p as its decoded payload, which Decode then
// returns: for a reader that decodes the payload along with the envelope
// (eventcodec). p must be what Decode gives for e.Data (eventcodec's fuzz
// test holds it to that); nil drops a held payload.
func (e Event) WithPayload(p Payload) Event {
	e.payload = p
	return e
}

// EventTypes lists the type of every event this binary reads.
func EventTypes() []string {
	out := make([]string, 0, len(eventTypes))
	for t := range eventTypes {
		out = append(out, t)
	}
	return out
}

// Decoded returns e with its payload decoded, so that the projections it is
// handed to do not decode it each: their Decode returns this one value,
// which they share and must not modify (folds replace, never mutate).
func (e Event) Decoded() (Event, error) {
	p, err := e.Decode()
	if err != nil {
		return e, err
	}
	e.payload = p
	return e, nil
}

type decoderKey struct {
	typ string
	v   int
}

var decoders = map[decoderKey]func([]byte) (Payload, error){}

// eventTypes is the set of registered event types.
var eventTypes = map[string]string{}

// register makes a payload type readable from the log.
func register[P Payload](zero P) {
	eventTypes[zero.EventType()] = zero.EventType()
	decoders[decoderKey{zero.EventType(), zero.EventVersion()}] = func(b []byte) (Payload, error) {
		var p P
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// Register makes a payload type of a model outside domain readable from
// the log (esrealm's events): its package calls it from init, so that every
// binary and test that links the model reads its events.
func Register[P Payload](zero P) { register(zero) }

// registerUpcast makes an old version readable by converting it to the
// current one.
func registerUpcast[Old Payload, New Payload](zero Old, up func(Old) New) {
	eventTypes[zero.EventType()] = zero.EventType()
	decoders[decoderKey{zero.EventType(), zero.EventVersion()}] = func(b []byte) (Payload, error) {
		var o Old
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, err
		}
		return up(o), nil
	}
}
