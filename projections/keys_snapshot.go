package projections

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"sort"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// Name of the key list in snapshots and digests. The version goes up when
// keyEncoding changes (a test counts domain.Key's fields to remind).
func (ks *Keys) Name() string { return "keys@4" }

// Snapshot encodes every key, sorted by id.
func (ks *Keys) Snapshot() ([]byte, error) { return ks.Capture()() }

// Capture copies the key pointers (a *domain.Key never changes once in the
// maps: Apply replaces it) and returns the encoding of them, to run after
// the runner resumed: the runner waits for the copy only, not the sort and
// the encoding.
func (ks *Keys) Capture() func() ([]byte, error) {
	ks.mu.RLock()
	keys := make([]*domain.Key, 0, ks.count)
	for _, ref := range ks.refs {
		if ref.key != nil {
			keys = append(keys, ref.key)
		}
	}
	ks.mu.RUnlock()
	return func() ([]byte, error) {
		sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
		w := writer{buf: make([]byte, 0, 64+len(keys)*128)}
		w.uint(uint64(len(keys)))
		for _, k := range keys {
			if err := encodeKey(&w, k); err != nil {
				return nil, err
			}
		}
		return w.buf, nil
	}
}

// Restore replaces the key list with a snapshot's. The keys live in one
// slab: a million of them cost one allocation, not a million. The slots
// and the tenants' lists are filled on another goroutine while the keys
// are still being decoded, a run of keys resolved in the key table at a
// time.
func (ks *Keys) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	slab := make([]domain.Key, n)
	ks.table.Reserve(n)
	fresh := &Keys{refs: make([]keyRef, 0, n), byTenant: map[domain.TenantID]*tenantKeys{}, restoring: true}
	decoded := make(chan []domain.Key, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for run := range decoded {
			ks.table.resolveIDs(len(run), func(i int) domain.KeyID { return run[i].ID }, func(_ int, slots []uint32) {
				for i, slot := range slots {
					if at(fresh.refs, slot).key == nil {
						fresh.count++
					}
					fresh.refs = put(fresh.refs, slot, fresh.add(run[i].Tenant, &run[i]))
				}
			})
		}
	})
	err := decodeKeys(&r, slab, decoded)
	close(decoded)
	wg.Wait()
	if err == nil {
		err = r.done()
	}
	if err != nil {
		return err
	}
	for _, list := range fresh.byTenant {
		list.names.lazy()
	}
	ks.mu.Lock()
	ks.refs, ks.count, ks.byTenant = fresh.refs, fresh.count, fresh.byTenant
	ks.mu.Unlock()
	return nil
}

// decodeKeys decodes the slab's keys, handing each run of them to decoded
// as it is done.
func decodeKeys(r *reader, slab []domain.Key, decoded chan<- []domain.Key) error {
	const run = 4096
	for start := 0; start < len(slab); start += run {
		keys := slab[start:min(start+run, len(slab))]
		for i := range keys {
			if err := decodeKey(r, &keys[i]); err != nil {
				return err
			}
		}
		decoded <- keys
	}
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
	if err := w.metadata(k.Metadata); err != nil {
		return err
	}
	w.bool(k.Invalidated)
	w.time(k.InvalidatedAt)
	w.time(k.Updated)
	w.uint(k.Seq)
	w.uint(k.CreatedSeq)
	w.str(string(k.RotatedTo))
	w.str(string(k.RotatedFrom))
	w.time(k.LastUsed)
	w.uint(k.UseSeq)
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
	if err := sharedJSON(r, &k.RoleDescriptors, func() { k.RoleDescriptors = domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := sharedJSON(r, &k.LimitedBy, func() { k.LimitedBy = []domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := r.jsonMap(&k.Metadata, func() { k.Metadata = map[string]any{} }); err != nil {
		return err
	}
	k.Invalidated = r.bool()
	k.InvalidatedAt, k.Updated = r.time(), r.time()
	k.Seq = r.uint()
	k.CreatedSeq = r.uint()
	k.RotatedTo, k.RotatedFrom = domain.KeyID(r.str()), domain.KeyID(r.str())
	k.LastUsed, k.UseSeq = r.time(), r.uint()
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
	anyValue  = 3 // metadata in the compact encoding of (*writer).any
)

// metadata writes a key's metadata without encoding/json when it holds
// only what JSON decodes to (the only way it reaches a key: from the log),
// which is most of what makes a restore of a million keys fast. The value
// is length-prefixed so that a restore decodes each distinct metadata once
// and lets the keys that carry it share it (folds replace a key's metadata,
// never modify it, so sharing is safe; Decoded payloads rely on the same).
func (w *writer) metadata(m map[string]any) error {
	if m == nil || len(m) == 0 || !plainJSON(m) {
		return w.jsonMap(len(m), m == nil, m)
	}
	w.buf = append(w.buf, anyValue)
	var body writer
	body.any(m)
	w.bytes(body.buf)
	return nil
}

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
	switch r.u8("json tag") { // 0, jsonNil, when there is none
	case jsonNil:
	case jsonEmpty:
		empty()
	case anyValue:
		dm, ok := dst.(*map[string]any)
		if !ok {
			r.fail("metadata target")
			return r.err
		}
		*dm = r.sharedMetadata(r.bytes())
	case jsonValue:
		if err := json.Unmarshal(r.bytes(), dst); err != nil && r.err == nil {
			r.err = err
		}
	default:
		r.fail("json tag")
	}
	return r.err
}

// sharedJSON is jsonMap for role descriptors: a value spelt as one decoded
// before is that one (every key a user made through Elasticsearch's API
// carries the same limited_by, kilobytes decoded). A key's descriptors are
// never changed in place, a fold replaces them, so sharing is safe; the
// log's Decoder shares them the same way.
func sharedJSON[T any](r *reader, dst *T, empty func()) error {
	if len(r.buf) == 0 || r.buf[0] != jsonValue {
		return r.jsonMap(dst, empty)
	}
	r.u8("json tag")
	b := r.bytes()
	if v, ok := r.roles[string(b)].(T); ok {
		*dst = v
		return r.err
	}
	if err := json.Unmarshal(b, dst); err != nil && r.err == nil {
		r.err = err
	}
	if r.err == nil {
		if r.roles == nil {
			r.roles = map[string]any{}
		}
		r.roles[string(b)] = *dst
	}
	return r.err
}

// sharedMetadata decodes one encoded metadata, or returns the map decoded
// earlier from the same bytes.
func (r *reader) sharedMetadata(b []byte) map[string]any {
	if m, ok := r.metas[string(b)]; ok {
		return m
	}
	sub := reader{buf: b}
	m, ok := sub.any().(map[string]any)
	if err := sub.done(); err != nil || !ok {
		r.fail("metadata")
		return nil
	}
	if r.metas == nil {
		r.metas = map[string]map[string]any{}
	}
	r.metas[string(b)] = m
	return m
}

// Tags of the compact encoding of JSON values.
const (
	anyNull = iota
	anyFalse
	anyTrue
	anyNumber
	anyString
	anyArray
	anyObject
)

// plainJSON reports whether v holds only the types encoding/json decodes
// into an any: nil, bool, float64, string, []any and map[string]any.
func plainJSON(v any) bool {
	switch x := v.(type) {
	case nil, bool, float64, string:
		return true
	case []any:
		for _, e := range x {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	}
	return false
}

// any writes a plainJSON value; object keys are sorted, so the encoding is
// canonical.
func (w *writer) any(v any) {
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, anyNull)
	case bool:
		if x {
			w.buf = append(w.buf, anyTrue)
		} else {
			w.buf = append(w.buf, anyFalse)
		}
	case float64:
		w.buf = append(w.buf, anyNumber)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(x))
	case string:
		w.buf = append(w.buf, anyString)
		w.str(x)
	case []any:
		w.buf = append(w.buf, anyArray)
		w.uint(uint64(len(x)))
		for _, e := range x {
			w.any(e)
		}
	case map[string]any:
		w.buf = append(w.buf, anyObject)
		keys := sortedKeys(x)
		w.uint(uint64(len(keys)))
		for _, k := range keys {
			w.sym(k)
			w.any(x[k])
		}
	}
}

func (r *reader) any() any {
	switch r.u8("value") { // 0, anyNull, when there is none
	case anyNull:
		return nil
	case anyFalse:
		return false
	case anyTrue:
		return true
	case anyNumber:
		if len(r.buf) < 8 {
			r.fail("number")
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
		r.buf = r.buf[8:]
		return f
	case anyString:
		return r.str()
	case anyArray:
		n := r.count()
		a := make([]any, 0, n)
		for range n {
			a = append(a, r.any())
		}
		return a
	case anyObject:
		n := r.count()
		m := make(map[string]any, n)
		for range n {
			k := r.sym()
			m[k] = r.any()
		}
		return m
	}
	r.fail("value tag")
	return nil
}
