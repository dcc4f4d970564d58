package eventcodec

import (
	"encoding/json"

	"github.com/keyplane/keyplane/domain"
)

// DecodeEvent reads an event as stored in the log. It gives exactly what
// json.Unmarshal into a domain.Event gives, except that Data shares data's
// memory instead of copying it: data must not change afterwards. Its
// payload comes decoded too (domain.Event.Decoded) when that succeeds; when
// it does not, Decode will report why.
//
// Replaying the log is mostly decoding it, so the envelope as keyplane
// writes it is read by a reader built for it (jsonReader); any other shape
// (a field it does not know, an escaped name, a null) goes to
// encoding/json, which stays the reference.
func DecodeEvent(data []byte) (domain.Event, error) {
	return decode(data, nil)
}

// Decoder decodes a run of events (a replay, a subscription), and shares
// the strings that recur from one event to the next (tenants, actors,
// addresses, user agents, owners) instead of allocating each anew: less
// work for the garbage collector, and the projections that keep them hold
// one copy. A Decoder is for one goroutine at a time; its zero value is
// ready.
type Decoder struct {
	strs  map[string]string
	metas map[string]map[string]any // by their JSON (jsonReader.metadata)
	// roles and limits are role descriptors by their JSON (sharedRoles):
	// every key a user creates through Elasticsearch's API carries the
	// user's role descriptors as its limited_by, a few KB each decoded.
	roles  map[string]domain.RoleDescriptors
	limits map[string][]domain.RoleDescriptors
}

// maxShared and maxSharedMetadata bound a Decoder's tables: past them a
// table starts over, so that a run of ever new values cannot grow it
// forever.
const (
	maxShared         = 4096
	maxSharedMetadata = 1024
)

// Event is DecodeEvent, sharing what recurs.
func (d *Decoder) Event(data []byte) (domain.Event, error) {
	d.bound()
	return decode(data, d)
}

// Payload is ev holding its payload decoded from ev.Data, sharing what
// recurs as Event does: for events that did not come through Event (a
// command's own, folded the moment the log acknowledged them). An event
// whose payload does not decode is returned as it is (Decode then says
// why).
func (d *Decoder) Payload(ev domain.Event) domain.Event {
	d.bound()
	p, err := payload(ev, d)
	if err != nil {
		return ev
	}
	return ev.WithPayload(p)
}

// decode reads data, envelope and payload; d, when set, shares what recurs.
func decode(data []byte, d *Decoder) (domain.Event, error) {
	ev, p, err := envelope(data, d, true)
	if err != nil {
		return ev, err
	}
	if p == nil {
		if p, err = payload(ev, d); err != nil {
			return ev, nil // Decode reports it
		}
	}
	return ev.WithPayload(p), nil
}

// payload decodes ev's payload: with a fast decoder when one takes it
// (sharing what recurs through d, when set), else as domain does.
func payload(ev domain.Event, d *Decoder) (domain.Payload, error) {
	if p, ok := decodeFast(decoderKey{ev.Type, ev.Version}, ev.Data, d, ev.AggID); ok {
		return p, nil
	}
	return ev.Decode()
}

// bound makes the tables, or makes them anew once full.
func (d *Decoder) bound() {
	if d.strs == nil || len(d.strs) >= maxShared {
		d.strs = make(map[string]string, 64)
	}
	if d.metas == nil || len(d.metas) >= maxSharedMetadata {
		d.metas = make(map[string]map[string]any, 16)
	}
	if d.roles == nil || len(d.roles) >= maxSharedMetadata {
		d.roles = make(map[string]domain.RoleDescriptors, 4)
	}
	if d.limits == nil || len(d.limits) >= maxSharedMetadata {
		d.limits = make(map[string][]domain.RoleDescriptors, 4)
	}
}

// envelope decodes data; with payloads it also decodes the payload in the
// same pass when it can (p), instead of stepping over it. d, when set,
// shares what recurs.
func envelope(data []byte, d *Decoder, payloads bool) (ev domain.Event, p domain.Payload, err error) {
	r := jsonReader{b: data, d: d, payloads: payloads}
	if r.envelope(&ev, &p); r.end() {
		return ev, p, nil
	}
	ev, err = envelopeSlow(data)
	return ev, nil, err
}

// envelopeSlow is encoding/json's reading of an event, for whatever shape
// envelope does not read. It is a function of its own so that handing an
// Event to encoding/json does not put envelope's on the heap.
func envelopeSlow(data []byte) (domain.Event, error) {
	var ev domain.Event
	err := json.Unmarshal(data, &ev)
	return ev, err
}

// The envelope's members, as bits of a seen set.
const (
	fID = 1 << iota
	fType
	fVersion
	fTenant
	fAggType
	fAggID
	fActor
	fSource
	fCorrelation
	fTime
	fData
)

// envelope reads an event into ev, and its payload into p when r.payloads
// and a fast decoder takes it.
func (r *jsonReader) envelope(ev *domain.Event, p *domain.Payload) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "id":
			r.once(&seen, fID)
			ev.ID = r.str()
		case "type":
			r.once(&seen, fType)
			ev.Type = r.interned(eventTypes)
		case "v":
			r.once(&seen, fVersion)
			ev.Version = r.integer()
		case "tenant":
			r.once(&seen, fTenant)
			ev.Tenant = domain.TenantID(r.sharedStr())
		case "agg_type":
			r.once(&seen, fAggType)
			ev.AggType = r.known(domain.AggKey, domain.AggOrg, domain.AggUser, domain.AggOrgName, domain.AggIdem, domain.AggNotice, domain.AggRealm, domain.AggSession, domain.AggKeyUse)
		case "agg_id":
			r.once(&seen, fAggID)
			ev.AggID = r.str()
		case "actor":
			r.once(&seen, fActor)
			r.actor(&ev.Actor)
		case "source":
			r.once(&seen, fSource)
			r.source(&ev.Source)
		case "correlation_id":
			r.once(&seen, fCorrelation)
			ev.CorrelationID = r.str()
		case "time":
			r.once(&seen, fTime)
			ev.Time = r.timeValue()
		case "data":
			r.once(&seen, fData)
			ev.Data = r.data(ev, p, seen&(fType|fVersion) == fType|fVersion)
		default:
			r.fail()
		}
	}
}

// data reads the payload: decoded on the way when r.payloads, its type is
// known (typed) and a fast decoder takes it; else merely stepped over.
func (r *jsonReader) data(ev *domain.Event, p *domain.Payload, typed bool) []byte {
	if r.payloads && typed && !r.bad {
		r.ws()
		saved := *r
		r.aggID = ev.AggID
		if fast, ok := fastPayload(r, decoderKey{ev.Type, ev.Version}); ok && !r.bad {
			*p = fast
			return r.b[saved.i:r.i]
		}
		*r = saved // no fast decoder, or a shape it does not take: leave it to Decode
	}
	return r.raw()
}

func (r *jsonReader) actor(a *domain.Actor) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "kind":
			r.once(&seen, 1)
			a.Kind = domain.ActorKind(r.known(string(domain.ActorUser), string(domain.ActorKey), string(domain.ActorSystem)))
		case "id":
			r.once(&seen, 2)
			a.ID = r.sharedStr()
		case "name":
			r.once(&seen, 4)
			a.Name = r.sharedStr()
		case "user":
			r.once(&seen, 8)
			a.User = r.sharedStr()
		case "realm":
			r.once(&seen, 16)
			a.Realm = r.sharedStr()
		default:
			r.fail()
		}
	}
}

func (r *jsonReader) source(s *domain.Source) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "addr":
			r.once(&seen, 1)
			s.Addr = r.sharedStr()
		case "user_agent":
			r.once(&seen, 2)
			s.UserAgent = r.sharedStr()
		default:
			r.fail()
		}
	}
}

// eventTypes holds each registered event type's name, so that reading an
// event's type takes that string instead of a new copy.
var eventTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range domain.EventTypes() {
		m[t] = t
	}
	return m
}()

type decoderKey struct {
	typ string
	v   int
}
