package projections

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// Name of the key list in snapshots and digests. The version goes up when
// keyEncoding changes (a test counts domain.Key's fields to remind).
// keys@5 is keys@4's encoding of the keys followed by the tenants'
// indexes (keys_index_snapshot.go).
func (ks *Keys) Name() string { return "keys@5" }

// keysV4 is the key list's snapshot before it held indexes: its keys
// alone, the indexes built by their first readers after a restore.
const keysV4 = "keys@4"

// Older: a keys@4 snapshot restores (Upgrader).
func (ks *Keys) Older() []string { return []string{keysV4} }

// RestoreOlder restores a keys@4 snapshot.
func (ks *Keys) RestoreOlder(name string, b []byte) error {
	if name != keysV4 {
		return fmt.Errorf("no key list version %s", name)
	}
	return ks.restore(b, false)
}

// Snapshot encodes every key, sorted by id, then the tenants' indexes.
func (ks *Keys) Snapshot() ([]byte, error) { return ks.Capture()() }

// Digest is the SHA-256 of the keys' encoding alone: the indexes hold
// positions in the tenants' lists, which differ between a list folded
// and one restored (equal keys, equal digest: Digester).
func (ks *Keys) Digest() (string, error) {
	ks.mu.RLock()
	recs := ks.records()
	ks.mu.RUnlock()
	w, err := encodeRecs(recs)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(w.buf)
	return hex.EncodeToString(sum[:]), nil
}

// Capture copies the tenants' lists of record pointers (a record never
// changes once in the list: Apply replaces it) and their indexes (their
// runs are never changed in place either), and returns the encoding of
// them, to run after the runner resumed: the runner waits for the copy
// only, not the sort and the encoding. Every record is in its tenant's
// list: the records are gathered from the copies, not copied twice.
func (ks *Keys) Capture() func() ([]byte, error) {
	ks.mu.RLock()
	lists := ks.frozenLists()
	ks.mu.RUnlock()
	return func() ([]byte, error) {
		recs := recordsOf(lists)
		w, err := encodeRecs(recs)
		if err != nil {
			return nil, err
		}
		lazy := lazyIndexesOf(lists)
		encodeIndexes(&w, recs, lists)
		ks.adoptIndexes(lists, lazy)
		return w.buf, nil
	}
}

// records is a copy of every record pointer; ks.mu is held.
func (ks *Keys) records() []*keyRec {
	recs := make([]*keyRec, 0, ks.count)
	for _, r := range ks.refs {
		if r != nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// recordsOf is every record of lists.
func recordsOf(lists map[domain.TenantID]*tenantKeys) []*keyRec {
	n := 0
	for _, l := range lists {
		n += len(l.keys)
	}
	recs := make([]*keyRec, 0, n)
	for _, l := range lists {
		recs = append(recs, l.keys...)
	}
	return recs
}

// encodeRecs sorts recs by id and encodes them (keys@4).
func encodeRecs(recs []*keyRec) (writer, error) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	w := writer{buf: make([]byte, 0, 64+len(recs)*128)}
	w.uint(uint64(len(recs)))
	perms := map[*keyPerm][]byte{}
	for _, r := range recs {
		if err := encodeRec(&w, r, perms); err != nil {
			return w, err
		}
	}
	return w, nil
}

// Restore replaces the key list with a snapshot's.
func (ks *Keys) Restore(b []byte) error { return ks.restore(b, true) }

// restore replaces the key list with a snapshot's keys, and the tenants'
// indexes with its indexes (withIndexes, keys@5), or leaves them to their
// first readers. The records live in
// one slab: a million of them cost one allocation, not a million. The
// slots and the tenants' lists are filled on another goroutine while the
// records are still being decoded, a run of them resolved in the key
// table at a time.
func (ks *Keys) restore(b []byte, withIndexes bool) error {
	r := reader{buf: b}
	n := r.countOf(minKeyBytes)
	slab := make([]keyRec, n)
	ks.table.Reserve(n)
	fresh := &Keys{refs: make([]*keyRec, 0, n), byTenant: map[domain.TenantID]*tenantKeys{}, restoring: true}
	decoded, spent := make(chan decodedRun, 16), make(chan [][]byte, 16)
	twice := false // a key's id on two records (read after wg.Wait)
	var wg sync.WaitGroup
	wg.Go(func() {
		slots := make([]uint32, 0, recRun)
		for run := range decoded {
			// Each record takes the table's copy of its id: a restored
			// list keeps no copy of its own.
			slots = slots[:len(run.recs)]
			ks.table.resolveBytes(len(run.recs), func(i int) []byte { return run.ids[i] }, func(i int, slot uint32) {
				run.recs[i].ID, slots[i] = ks.table.ids[slot], slot // the table's lock is held
			})
			select {
			case spent <- run.ids: // for a later run
			default:
			}
			for i, slot := range slots {
				if at(fresh.refs, slot) != nil {
					twice = true // refused below: listed twice, counted once
					continue
				}
				r := &run.recs[i]
				fresh.count++
				fresh.add(r)
				fresh.refs = put(fresh.refs, slot, r)
			}
		}
	})
	var in keyInterns
	err := decodeRecs(&r, &in, slab, decoded, spent)
	close(decoded)
	wg.Wait()
	if err == nil && twice {
		err = fmt.Errorf("keys snapshot: a key twice")
	}
	for _, list := range fresh.byTenant {
		list.lazyIndexes()
	}
	if err == nil && withIndexes {
		err = r.indexes(fresh.byTenant)
	}
	if err == nil {
		err = r.done()
	}
	if err != nil {
		return err
	}
	ks.mu.Lock()
	in.numbered = nil
	ks.refs, ks.count, ks.byTenant, ks.in = fresh.refs, fresh.count, fresh.byTenant, in
	ks.mu.Unlock()
	return nil
}

// minKeyBytes is the least a key takes in a snapshot (its hash alone is
// 32 bytes; each other field one at least).
const minKeyBytes = 48

// recRun is how many records a restore decodes before handing them on.
const recRun = 4096

// decodedRun is a run of decoded records, their ids still the snapshot's
// bytes (the records' IDs empty): placed in the key table, they take the
// table's copy, and a restore allocates none of its own.
type decodedRun struct {
	recs []keyRec
	ids  [][]byte
}

// decodeRecs decodes the slab's records, handing each run of them to
// decoded as it is done; the ids' slices come back through spent once
// placed, for the runs after. A run's names are slices of one string.
func decodeRecs(r *reader, in *keyInterns, slab []keyRec, decoded chan<- decodedRun, spent <-chan [][]byte) error {
	names := make([][]byte, 0, recRun)
	for start := 0; start < len(slab); start += recRun {
		recs := slab[start:min(start+recRun, len(slab))]
		var ids [][]byte
		select {
		case ids = <-spent:
		default:
			ids = make([][]byte, recRun)
		}
		ids, names = ids[:len(recs)], names[:len(recs)]
		for i := range recs {
			var err error
			if ids[i], names[i], err = decodeRec(r, in, &recs[i]); err != nil {
				return err
			}
		}
		setRecNames(recs, names)
		decoded <- decodedRun{recs, ids}
	}
	return nil
}

// setRecNames gives a run of records their names, slices of one string.
func setRecNames(recs []keyRec, names [][]byte) {
	joined, at := joinBytes(names), 0
	for i, n := range names {
		recs[i].Name = joined[at : at+len(n)]
		at += len(n)
	}
}

// encodeRec writes a record as its key (a domain.Key, field by field; the
// encoding of keys@4, which a test holds to that of the key made from the
// record: TestKeySnapshotsAreTheEncodingOfTheirKeys).
func encodeRec(w *writer, rec *keyRec, perms map[*keyPerm][]byte) error {
	c := rec.c
	w.str(string(rec.ID))
	w.sym(string(c.Tenant))
	w.sym(string(c.Project))
	w.sym(string(c.Scope))
	w.sym(string(c.Type))
	w.str(rec.Name)
	if err := putValue(w, &w.owners, c.Owner); err != nil {
		return err
	}
	if err := putValue(w, &w.actors, c.CreatedBy); err != nil {
		return err
	}
	more := rec.more
	if more == nil {
		more = &keyMore{updated: rec.created}
	}
	w.time(rec.createdAt())
	w.time(rec.expiresAt())
	w.buf = append(w.buf, rec.hash[:]...)
	if err := w.perm(&c.keyPerm, perms); err != nil {
		return err
	}
	if err := w.recMetadata(rec); err != nil {
		return err
	}
	w.bool(rec.invalidated())
	if x := more.exact; x != nil {
		w.time(x.invalidatedAt)
		w.time(x.updated)
	} else {
		w.time(unpackTime(more.invalidatedAt))
		w.time(unpackTime(more.updated))
	}
	w.uint(rec.Seq)
	w.uint(rec.createdSeq())
	w.str(string(more.rotatedTo))
	w.str(string(more.rotatedFrom))
	w.time(rec.lastUsed())
	w.uint(more.useSeq)
	return nil
}

// perm writes role descriptors and limited_by, each as JSON (jsonMap),
// encoded once per keyPerm: perms are those encoded so far.
func (w *writer) perm(p *keyPerm, perms map[*keyPerm][]byte) error {
	b, ok := perms[p]
	if !ok {
		var pw writer
		if err := pw.jsonMap(len(p.roles), p.roles == nil, p.roles); err != nil {
			return err
		}
		if err := pw.jsonMap(len(p.limited), p.limited == nil, p.limited); err != nil {
			return err
		}
		b = pw.buf
		perms[p] = b
	}
	w.buf = append(w.buf, b...)
	return nil
}

// recMetadata writes a record's metadata as (*writer).metadata writes its
// key's: the record's compact encoding is that of the snapshot.
func (w *writer) recMetadata(rec *keyRec) error {
	switch {
	case rec.more != nil && rec.more.metadata != nil:
		return w.metadata(rec.more.metadata)
	case rec.meta == "":
		w.buf = append(w.buf, jsonNil)
	case rec.meta == emptyMeta:
		w.buf = append(w.buf, jsonEmpty)
	default:
		w.buf = append(w.buf, anyValue)
		w.str(rec.meta)
	}
	return nil
}

// decodeRec reads what encodeRec wrote, a key, into a record (as
// keyInterns.record packs one), but for its id and name, which it returns
// as the snapshot's bytes.
func decodeRec(r *reader, in *keyInterns, rec *keyRec) (id, name []byte, err error) {
	// The record's first touch is a write. Its memory is fresh from the
	// kernel: a read first (the nil check before its hash is copied in)
	// maps the zero page, and the first write then faults again, twice
	// the faults of a restore's largest allocation.
	rec.ID = ""
	id = r.bytes()
	var nums commonNums
	sym := func() { r.sym() }
	for i := range 4 { // tenant, project, scope, type
		nums[i] = r.numberOf(len(r.syms), sym)
	}
	name = r.bytes()
	nums[4] = r.numberOf(len(r.owners), func() { getValue(r, &r.owners) })
	nums[5] = r.numberOf(len(r.actors), func() { getValue(r, &r.actors) })
	if r.err != nil {
		return nil, nil, r.err
	}
	var roles domain.RoleDescriptors
	var limited []domain.RoleDescriptors
	c := func() keyCommon {
		syms := func(i int) string { return r.syms[nums[i]-1] }
		return keyCommon{Tenant: domain.TenantID(syms(0)), Project: domain.ProjectID(syms(1)), Scope: domain.Scope(syms(2)),
			Type: domain.KeyType(syms(3)), Owner: r.owners[nums[4]-1], CreatedBy: r.actors[nums[5]-1]}
	}
	var t keyTimes
	t.created, t.expires = r.time(), r.time()
	r.fixed(rec.hash[:])
	if err := sharedJSON(r, &roles, func() { roles = noRoles }); err != nil {
		return nil, nil, err
	}
	if err := sharedJSON(r, &limited, func() { limited = []domain.RoleDescriptors{} }); err != nil {
		return nil, nil, err
	}
	rec.c = in.shapeNumbered(nums, c, roles, limited)
	var metadata map[string]any
	if err := r.recMetadata(in, rec, &metadata); err != nil {
		return nil, nil, err
	}
	more := keyMore{invalidated: r.bool()}
	t.invalidatedAt, t.updated = r.time(), r.time()
	rec.Seq = r.uint()
	rec.sinceCreated, more.createdSeq = packSeqs(rec.Seq, r.uint())
	more.rotatedTo, more.rotatedFrom = domain.KeyID(r.str()), domain.KeyID(r.str())
	t.lastUsed, more.useSeq = r.time(), r.uint()
	more.metadata = metadata
	packTimes(rec, more, t)
	return id, name, r.err
}

// commonNums are the numbers a snapshot gives the parts of a keyCommon
// (symbols and values, which it writes once and then by number): a
// restore finds a record's keyCommon by them, not by hashing its strings.
type commonNums [6]uint64

// numberOf reads a value written by number (sym, putValue) from a table
// of seen values, and returns its number (from 1): one seen before is not
// looked at, a new one is read with read, which adds it to the table.
func (r *reader) numberOf(seen int, read func()) uint64 {
	i, n := binary.Uvarint(r.buf)
	if n <= 0 || i == 0 {
		read()
		return uint64(seen + 1)
	}
	r.buf = r.buf[n:]
	if i > uint64(seen) {
		r.fail("value number")
	}
	return i
}

// noRoles are the role descriptors of every restored key that has none
// of its own (most keys): one empty map, not one each. Descriptors are
// never changed in place.
var noRoles = domain.RoleDescriptors{}

// recMetadata reads what (*writer).recMetadata wrote: its compact encoding
// as it is, shared when equal; what came as JSON decoded and encoded
// compactly, or kept as a map (into metadata) when it cannot be.
func (r *reader) recMetadata(in *keyInterns, rec *keyRec, metadata *map[string]any) error {
	if len(r.buf) > 0 && r.buf[0] == anyValue {
		r.u8("json tag")
		b := r.bytes()
		if r.err != nil {
			return r.err
		}
		s, seen := in.metaOf(b)
		if !seen && !validMeta(b) {
			// Kept as it comes, it is decoded only when read: a damaged
			// one would give a key without its metadata then. (The
			// interns of a failed restore, which now hold it, are dropped.)
			r.fail("metadata")
		}
		rec.meta = s
		return r.err
	}
	var m map[string]any
	if err := r.jsonMap(&m, func() { m = map[string]any{} }); err != nil {
		return err
	}
	if s, ok := in.encodeMeta(m); ok {
		rec.meta = s
	} else {
		*metadata = m
	}
	return nil
}

// validMeta says whether b is the compact encoding of an object, all of
// it (what decodeMeta reads without checking), nested no deeper than a
// request body may be (deeper never came in; a crafted snapshot must not
// recurse the decoder out of its stack). It reads past each value without making it: a restore
// checks every key's metadata, and a million keys with an id each in it
// made a million maps and strings for nothing.
func validMeta(b []byte) bool {
	if len(b) == 0 || b[0] != anyObject {
		return false
	}
	sub := reader{buf: b}
	syms := 0
	sub.skipAny(&syms, domain.MaxBodyDepth)
	return sub.done() == nil
}

// skipAny reads past one value as any reads it, allocating nothing; syms
// counts the symbols (object keys) defined so far, and depth is how many
// more levels of arrays and objects may open.
func (r *reader) skipAny(syms *int, depth int) {
	tag := r.u8("value")
	if (tag == anyArray || tag == anyObject) && depth == 0 {
		r.fail("depth")
		return
	}
	switch tag {
	case anyNull, anyFalse, anyTrue:
	case anyNumber:
		if len(r.buf) < 8 {
			r.fail("number")
			return
		}
		r.buf = r.buf[8:]
	case anyString:
		r.bytes()
	case anyArray:
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.skipAny(syms, depth-1)
		}
	case anyObject:
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.skipSym(syms)
			r.skipAny(syms, depth-1)
		}
	default:
		r.fail("value tag")
	}
}

// skipSym reads past a symbol as sym reads it.
func (r *reader) skipSym(syms *int) {
	switch i := r.uint(); {
	case i == 0:
		r.bytes()
		*syms++
	case i > uint64(*syms):
		r.fail("symbol")
	}
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
