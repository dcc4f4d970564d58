package projections

import (
	"encoding/json"
	"sort"

	"github.com/keyplane/keyplane/domain"
)

// Name of the key list in snapshots and digests. The version goes up when
// keyEncoding changes (a test counts domain.Key's fields to remind).
func (ks *Keys) Name() string { return "keys@1" }

// Snapshot encodes every key, sorted by id.
func (ks *Keys) Snapshot() ([]byte, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	ids := make([]domain.KeyID, 0, len(ks.byID))
	for id := range ks.byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	w := writer{buf: make([]byte, 0, 64+len(ids)*96)}
	w.uint(uint64(len(ids)))
	for _, id := range ids {
		if err := encodeKey(&w, ks.byID[id]); err != nil {
			return nil, err
		}
	}
	return w.buf, nil
}

// Restore replaces the key list with a snapshot's. The keys live in one
// slab: a million of them cost one allocation, not a million.
func (ks *Keys) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	slab := make([]domain.Key, n)
	byID := make(map[domain.KeyID]*domain.Key, n)
	byTenant := map[domain.TenantID]map[domain.KeyID]*domain.Key{}
	for i := range slab {
		k := &slab[i]
		if err := decodeKey(&r, k); err != nil {
			return err
		}
		byID[k.ID] = k
		t := byTenant[k.Tenant]
		if t == nil {
			t = map[domain.KeyID]*domain.Key{}
			byTenant[k.Tenant] = t
		}
		t[k.ID] = k
	}
	if err := r.done(); err != nil {
		return err
	}
	ks.mu.Lock()
	ks.byID, ks.byTenant = byID, byTenant
	ks.mu.Unlock()
	return nil
}

func encodeKey(w *writer, k *domain.Key) error {
	w.str(string(k.ID))
	w.sym(string(k.Tenant))
	w.sym(string(k.Project))
	w.sym(string(k.Scope))
	w.sym(string(k.Type))
	w.str(k.Name)
	if err := putValue(w, &w.owners, k.Owner); err != nil {
		return err
	}
	if err := putValue(w, &w.actors, k.CreatedBy); err != nil {
		return err
	}
	w.time(k.Created)
	w.time(k.Expires)
	w.buf = append(w.buf, k.Hash[:]...)
	if err := w.jsonMap(len(k.RoleDescriptors), k.RoleDescriptors == nil, k.RoleDescriptors); err != nil {
		return err
	}
	if err := w.jsonMap(len(k.LimitedBy), k.LimitedBy == nil, k.LimitedBy); err != nil {
		return err
	}
	if err := w.jsonMap(len(k.Metadata), k.Metadata == nil, k.Metadata); err != nil {
		return err
	}
	w.bool(k.Invalidated)
	w.time(k.InvalidatedAt)
	w.time(k.Updated)
	w.uint(k.Seq)
	return nil
}

func decodeKey(r *reader, k *domain.Key) error {
	k.ID = domain.KeyID(r.str())
	k.Tenant = domain.TenantID(r.sym())
	k.Project = domain.ProjectID(r.sym())
	k.Scope = domain.Scope(r.sym())
	k.Type = domain.KeyType(r.sym())
	k.Name = r.str()
	k.Owner = getValue(r, &r.owners)
	k.CreatedBy = getValue(r, &r.actors)
	k.Created, k.Expires = r.time(), r.time()
	r.fixed(k.Hash[:])
	if err := r.jsonMap(&k.RoleDescriptors, func() { k.RoleDescriptors = domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := r.jsonMap(&k.LimitedBy, func() { k.LimitedBy = []domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := r.jsonMap(&k.Metadata, func() { k.Metadata = map[string]any{} }); err != nil {
		return err
	}
	k.Invalidated = r.bool()
	k.InvalidatedAt, k.Updated = r.time(), r.time()
	k.Seq = r.uint()
	return r.err
}

// putValue writes a small struct that repeats (an actor, an owner) as JSON
// the first time and by number after. JSON rather than field by field, so
// that a field added to the struct is never silently dropped by a restart.
func putValue[T comparable](w *writer, seen *map[T]uint64, v T) error {
	if i, ok := (*seen)[v]; ok {
		w.uint(i + 1)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if *seen == nil {
		*seen = map[T]uint64{}
	}
	(*seen)[v] = uint64(len(*seen))
	w.uint(0)
	w.bytes(b)
	return nil
}

func getValue[T any](r *reader, seen *[]T) T {
	var v T
	i := r.uint()
	if i == 0 {
		if err := json.Unmarshal(r.bytes(), &v); err != nil {
			r.fail("json value")
		}
		*seen = append(*seen, v)
		return v
	}
	if i > uint64(len(*seen)) {
		r.fail("value number")
		return v
	}
	return (*seen)[i-1]
}

// Tags of a map or slice kept as JSON: most keys have none, and skipping
// encoding/json for them is most of what makes a restore fast.
const (
	jsonNil   = 0
	jsonEmpty = 1
	jsonValue = 2
)

func (w *writer) jsonMap(n int, isNil bool, v any) error {
	switch {
	case isNil:
		w.buf = append(w.buf, jsonNil)
	case n == 0:
		w.buf = append(w.buf, jsonEmpty)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.buf = append(w.buf, jsonValue)
		w.bytes(b)
	}
	return nil
}

func (r *reader) jsonMap(dst any, empty func()) error {
	if len(r.buf) == 0 {
		r.fail("json tag")
		return r.err
	}
	tag := r.buf[0]
	r.buf = r.buf[1:]
	switch tag {
	case jsonNil:
	case jsonEmpty:
		empty()
	case jsonValue:
		if err := json.Unmarshal(r.bytes(), dst); err != nil && r.err == nil {
			r.err = err
		}
	default:
		r.fail("json tag")
	}
	return r.err
}
