package eventcodec

import (
	"time"

	"github.com/keyplane/keyplane/domain"
)

// fastPayload reads the payloads that make up most of a log (a key's
// creation, updates and revocation) with jsonReader; ok is false for any
// other type. Decode tries it first; when it says no (r goes bad on a
// shape it does not take), the registered encoding/json decoder reads the
// same bytes, so it changes only how fast an event decodes, never what it
// decodes to. Old versions (KeyUpdated v1) are rare and go through
// encoding/json and their upcast. It is a switch, not a table of funcs:
// a call through a func value would put every reader on the heap.
func fastPayload(r *jsonReader, k decoderKey) (p domain.Payload, ok bool) {
	switch k {
	case decoderKey{domain.KeyCreated{}.EventType(), domain.KeyCreated{}.EventVersion()}:
		return fastKeyCreated(r), true
	case decoderKey{domain.KeyUpdated{}.EventType(), domain.KeyUpdated{}.EventVersion()}:
		return fastKeyUpdated(r), true
	case decoderKey{domain.KeyInvalidated{}.EventType(), domain.KeyInvalidated{}.EventVersion()}:
		return fastKeyInvalidated(r), true
	}
	return nil, false
}

// Each reads one payload at r's cursor (r goes bad when it cannot). They
// call their decoder directly, not through a func value, so that the
// payload stays on the stack until it is boxed: one allocation, not two.

func fastKeyCreated(r *jsonReader) domain.Payload {
	var p domain.KeyCreated
	if decodeKeyCreated(r, &p); r.bad {
		return nil
	}
	return p
}

func fastKeyUpdated(r *jsonReader) domain.Payload {
	var p domain.KeyUpdated
	if decodeKeyUpdated(r, &p); r.bad {
		return nil
	}
	return p
}

func fastKeyInvalidated(r *jsonReader) domain.Payload {
	var p domain.KeyInvalidated
	if decodeKeyInvalidated(r, &p); r.bad {
		return nil
	}
	return p
}

// decodeFast decodes b, a whole payload of type k, if a fast decoder takes
// it.
func decodeFast(k decoderKey, b []byte, d *Decoder, aggID string) (domain.Payload, bool) {
	r := jsonReader{b: b, d: d, aggID: aggID}
	p, ok := fastPayload(&r, k)
	return p, ok && r.end()
}

func decodeKeyCreated(r *jsonReader, p *domain.KeyCreated) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "key_id":
			r.once(&seen, 1<<0)
			p.KeyID = domain.KeyID(r.aggIDOr())
		case "name":
			r.once(&seen, 1<<1)
			p.Name = r.str()
		case "scope":
			r.once(&seen, 1<<2)
			p.Scope = domain.Scope(r.known(string(domain.ScopeOrg), string(domain.ScopeProject)))
		case "project":
			r.once(&seen, 1<<3)
			p.Project = domain.ProjectID(r.sharedStr())
		case "type":
			r.once(&seen, 1<<4)
			p.Type = domain.KeyType(r.known(string(domain.KeyPersonal), string(domain.KeyManaged)))
		case "owner":
			r.once(&seen, 1<<5)
			r.owner(&p.Owner)
		case "hash":
			r.once(&seen, 1<<6)
			p.Hash = r.str()
		case "expires":
			r.once(&seen, 1<<7)
			p.Expires = r.timePtr()
		case "role_descriptors":
			r.once(&seen, 1<<8)
			if r.d == nil && r.emptyObject() { // a key with no privileges of its own: most keys
				p.RoleDescriptors = domain.RoleDescriptors{}
			} else {
				p.RoleDescriptors = sharedRoles(r, r.roles())
			}
		case "limited_by":
			r.once(&seen, 1<<9)
			p.LimitedBy = sharedRoles(r, r.limits())
		case "metadata":
			r.once(&seen, 1<<10)
			if !r.isNull() {
				p.Metadata = r.metadata()
			}
		case "rotated_from":
			r.once(&seen, 1<<11)
			p.RotatedFrom = domain.KeyID(r.str())
		default:
			r.fail()
		}
	}
}

func (r *jsonReader) owner(o *domain.Owner) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "user":
			r.once(&seen, 1)
			o.User = r.sharedStr()
		case "realm":
			r.once(&seen, 2)
			o.Realm = r.sharedStr()
		case "by_key":
			r.once(&seen, 4)
			o.ByKey = domain.KeyID(r.str())
		default:
			r.fail()
		}
	}
}

func decodeKeyUpdated(r *jsonReader, p *domain.KeyUpdated) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "role_descriptors":
			r.once(&seen, 1<<0)
			p.RoleDescriptors = sharedRolesPtr(r, r.roles())
		case "metadata":
			r.once(&seen, 1<<1)
			if !r.isNull() {
				m := r.metadata()
				p.Metadata = &m
			}
		case "expires":
			r.once(&seen, 1<<2)
			p.Expires = r.timePtr()
		case "never_expires":
			r.once(&seen, 1<<3)
			p.NeverExpires = r.boolean()
		case "limited_by":
			r.once(&seen, 1<<4)
			p.LimitedBy = sharedRolesPtr(r, r.limits())
		default:
			r.fail()
		}
	}
}

func decodeKeyInvalidated(r *jsonReader, p *domain.KeyInvalidated) {
	if !r.open() {
		return
	}
	var seen uint32
	for n := 0; r.member(n); n++ {
		switch string(r.key) {
		case "reason":
			r.once(&seen, 1)
			p.Reason = r.str()
		default:
			r.fail()
		}
	}
}

// timePtr reads a time or null (nil).
func (r *jsonReader) timePtr() *time.Time {
	if r.isNull() {
		return nil
	}
	t := r.timeValue()
	return &t
}

// roles and limits are the Decoder's tables of role descriptors, nil
// without a Decoder.
func (r *jsonReader) roles() map[string]domain.RoleDescriptors {
	if r.d == nil {
		return nil
	}
	return r.d.roles
}

func (r *jsonReader) limits() map[string][]domain.RoleDescriptors {
	if r.d == nil {
		return nil
	}
	return r.d.limits
}

// sharedRoles reads role descriptors (a set, or a key's limited_by). Spelt
// byte for byte as ones read before, they are those: a user's keys carry
// the same limited_by, and decoded it costs kilobytes a key. Role
// descriptors of a key are never changed in place (a fold replaces them),
// so sharing them is safe. seen nil (no Decoder): no sharing.
func sharedRoles[T any](r *jsonReader, seen map[string]T) T {
	if seen == nil {
		return into[T](r)
	}
	start := r.i
	raw := r.raw()
	if r.bad {
		var zero T
		return zero
	}
	if v, ok := seen[string(raw)]; ok {
		return v
	}
	r.i = start
	v := into[T](r)
	if !r.bad {
		seen[string(raw)] = v
	}
	return v
}

// sharedRolesPtr is sharedRoles for an update's optional field: null is
// nil.
func sharedRolesPtr[T any](r *jsonReader, seen map[string]T) *T {
	if r.isNull() {
		return nil
	}
	v := sharedRoles(r, seen)
	return &v
}
