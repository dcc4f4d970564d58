package projections

import (
	"hash/maphash"
	"math"
	"reflect"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// keyRec is the key list's record of one key: a domain.Key packed into
// what it holds, a quarter of its size (128 bytes). What many keys repeat
// (their tenant, project, owner, creator, role descriptors and
// limited_by) is one shared keyShape; times are Unix nanoseconds; metadata is its compact encoding (writer.any), shared when
// equal and decoded only when a key is read whole (Get, a page of List);
// what few keys have (a revocation's time, an update, a rotation, a use)
// is in an extra part made only for them. A domain.Key is made from the
// record when one is read (key), equal to the one the plain fold of the
// same events gives (TestKeyRecordsGiveBackTheFoldedKeys).
//
// A record, once in the list, never changes: a fold replaces it (List and
// snapshots work on records copied out under the read lock).
type keyRec struct {
	ID   domain.KeyID
	Name string
	c    *keyShape
	// created and expires are packed times (packTime), Seq that of
	// domain.Key.
	created, expires int64
	Seq              uint64
	hash             domain.SecretHash
	// meta is the metadata's compact encoding: "" for none (nil).
	meta string
	more *keyMore
	// pos is the record's place in its tenant's list.
	pos int32
	// sinceCreated is Seq less CreatedSeq; farSinceCreated when that does
	// not fit, CreatedSeq then in more.
	sinceCreated uint32
}

const farSinceCreated = math.MaxUint32

// keyShape is what keys share: their keyCommon and keyPerm.
type keyShape struct {
	keyCommon
	keyPerm
}

// keyCommon is what the keys of one creator in one place share.
type keyCommon struct {
	Tenant    domain.TenantID
	Project   domain.ProjectID
	Scope     domain.Scope
	Type      domain.KeyType
	Owner     domain.Owner
	CreatedBy domain.Actor
}

// keyPerm are a key's role descriptors and limited_by: shared by the keys
// that share theirs (the log's Decoder and a restore share equal ones:
// every key a user makes through Elasticsearch's API is limited by the
// same descriptors).
type keyPerm struct {
	roles   domain.RoleDescriptors
	limited []domain.RoleDescriptors
}

// permID is what makes two keyPerms one: the same map and the same slice.
// (The interning table holds them, so no other can take their address
// while it names them.)
type permID struct {
	roles, limited uintptr
	n, c           int
}

func permIDOf(roles domain.RoleDescriptors, limited []domain.RoleDescriptors) permID {
	return permID{reflect.ValueOf(roles).Pointer(), reflect.ValueOf(limited).Pointer(), len(limited), cap(limited)}
}

// shapeID is what makes two keyShapes one.
type shapeID struct {
	keyCommon
	permID
}

// keyMore is what few keys have: made for a key revoked, updated, rotated,
// used, or whose times or metadata the packed fields cannot hold exactly.
type keyMore struct {
	invalidated                      bool
	invalidatedAt, updated, lastUsed int64 // packed times
	useSeq                           uint64
	createdSeq                       uint64 // when sinceCreated cannot say it
	rotatedTo, rotatedFrom           domain.KeyID
	// exact are the key's times when one of them does not pack (a time
	// with a location other than UTC, a monotonic reading, or a year past
	// 2262): then they, not the packed ones, are the key's.
	exact *keyTimes
	// metadata is metadata holding more than what JSON decodes to (not
	// plainJSON), kept as it came; meta is then "".
	metadata map[string]any
}

type keyTimes struct{ created, expires, invalidatedAt, updated, lastUsed time.Time }

// packTime packs t into Unix nanoseconds, 0 for the zero time; ok is
// false when the packed time would not give t back exactly.
func packTime(t time.Time) (int64, bool) {
	if t.IsZero() {
		return 0, true
	}
	n := t.UnixNano()
	return n, n != 0 && unpackTime(n) == t
}

func unpackTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// emptyMeta is the encoding of an empty object, which most keys made
// through the console carry.
const emptyMeta = "\x06\x00"

// Tables of what records share are bounded: past maxInterned entries one
// starts over, so that ever new values cannot grow it for ever (records
// keep what they point to).
const maxInterned = 4096

// keyInterns are the tables a key list shares equal parts of its records
// through. Used under the list's write lock.
type keyInterns struct {
	shapes map[shapeID]*keyShape
	metas  *metaCache
	// numbered are a restore's keyShapes by the numbers of its parts, for
	// the restore only.
	numbered map[numberedShape]*keyShape
	enc      metaEncoder
}

func (in *keyInterns) shape(c keyCommon, roles domain.RoleDescriptors, limited []domain.RoleDescriptors) *keyShape {
	id := shapeID{c, permIDOf(roles, limited)}
	if p, ok := in.shapes[id]; ok {
		return p
	}
	if in.shapes == nil || len(in.shapes) >= maxInterned {
		in.shapes = make(map[shapeID]*keyShape, 16)
	}
	p := &keyShape{c, keyPerm{roles, limited}}
	in.shapes[id] = p
	return p
}

// numberedShape is a keyShape named by the numbers a snapshot gives the
// parts of its keyCommon (commonNums) and its keyPerm's identity.
type numberedShape struct {
	commonNums
	permID
}

// shapeNumbered is shape for a restore, by numbers: c makes its keyCommon
// the first time.
func (in *keyInterns) shapeNumbered(nums commonNums, c func() keyCommon, roles domain.RoleDescriptors, limited []domain.RoleDescriptors) *keyShape {
	id := numberedShape{nums, permIDOf(roles, limited)}
	if p, ok := in.numbered[id]; ok {
		return p
	}
	if in.numbered == nil {
		in.numbered = map[numberedShape]*keyShape{}
	}
	p := in.shape(c(), roles, limited)
	in.numbered[id] = p
	return p
}

// meta is the shared string of an encoding.
func (in *keyInterns) meta(b []byte) string {
	s, _ := in.metaOf(b)
	return s
}

// metaOf is meta, and whether it had b's string at hand: an encoding met
// before, which a restore checked then.
func (in *keyInterns) metaOf(b []byte) (string, bool) {
	if string(b) == emptyMeta {
		return emptyMeta, true
	}
	if in.metas == nil {
		in.metas = &metaCache{seed: maphash.MakeSeed()}
	}
	slot := in.metas.slot(b)
	if *slot == string(b) {
		return *slot, true
	}
	*slot = string(b)
	return *slot, false
}

// metaCache shares the metadata encodings keys repeat ({"team": "infra"})
// through a direct-mapped table: an encoding takes the slot its hash
// names, evicting the one there. Keys whose metadata holds an id of their
// own each bring one never seen again; a map of the encodings seen grew
// with them, then started over, and its growth was a third of what a key
// list's restore allocated at a million such keys. The table never grows,
// and an encoding met again finds itself unless another took its slot.
type metaCache struct {
	seed  maphash.Seed
	slots [metaCacheSize]string
}

const metaCacheSize = 4096 // a power of two

func (c *metaCache) slot(b []byte) *string {
	return &c.slots[maphash.Bytes(c.seed, b)&(metaCacheSize-1)]
}

// encodeMeta is m's compact encoding, or ok false when m holds more than
// plain JSON.
func (in *keyInterns) encodeMeta(m map[string]any) (string, bool) {
	if m == nil {
		return "", true
	}
	b, ok := in.enc.encode(m)
	if !ok {
		return "", false
	}
	return in.meta(b), true
}

// decodeMeta decodes a compact encoding.
func decodeMeta(s string) map[string]any {
	if s == "" {
		return nil
	}
	if s == emptyMeta {
		return map[string]any{}
	}
	r := reader{buf: []byte(s)}
	m, _ := r.any().(map[string]any) // encoded by encodeMeta: cannot fail
	return m
}

// record packs k into a record, sharing through in; old is the key's
// previous record, nil for a new key, whose metadata k keeps when its
// Metadata is unchangedMeta.
func (in *keyInterns) record(k *domain.Key, old *keyRec) *keyRec {
	r := &keyRec{ID: k.ID, Name: k.Name, Seq: k.Seq, hash: k.Hash}
	c := keyCommon{Tenant: k.Tenant, Project: k.Project, Scope: k.Scope, Type: k.Type, Owner: k.Owner, CreatedBy: k.CreatedBy}
	if old != nil && old.c.keyCommon == c && old.c.same(k.RoleDescriptors, k.LimitedBy) {
		r.c = old.c
	} else {
		r.c = in.shape(c, k.RoleDescriptors, k.LimitedBy)
	}
	more := keyMore{invalidated: k.Invalidated}
	r.sinceCreated, more.createdSeq = packSeqs(k.Seq, k.CreatedSeq)
	if old != nil && sameMap(k.Metadata, unchangedMeta) {
		r.meta = old.meta
		if old.more != nil {
			more.metadata = old.more.metadata
		}
	} else if m, ok := in.encodeMeta(k.Metadata); ok {
		r.meta = m
	} else {
		more.metadata = k.Metadata
	}
	more.useSeq, more.rotatedTo, more.rotatedFrom = k.UseSeq, k.RotatedTo, k.RotatedFrom
	packTimes(r, more, keyTimes{k.Created, k.Expires, k.InvalidatedAt, k.Updated, k.LastUsed})
	return r
}

// packSeqs packs a key's creation sequence beside its last one: seq less
// created when that fits, else farSinceCreated and created whole.
func packSeqs(seq, created uint64) (since uint32, whole uint64) {
	if created <= seq && seq-created < farSinceCreated {
		return uint32(seq - created), 0
	}
	return farSinceCreated, created
}

// createdSeq is the key's CreatedSeq.
func (r *keyRec) createdSeq() uint64 {
	if r.sinceCreated == farSinceCreated {
		return r.more.createdSeq
	}
	return r.Seq - uint64(r.sinceCreated)
}

func (r *keyRec) invalidated() bool { return r.more != nil && r.more.invalidated }

// packTimes packs t into r and more, and gives r more if it needs one
// (only then is one allocated).
func packTimes(r *keyRec, more keyMore, t keyTimes) {
	var ok [5]bool
	r.created, ok[0] = packTime(t.created)
	r.expires, ok[1] = packTime(t.expires)
	more.invalidatedAt, ok[2] = packTime(t.invalidatedAt)
	more.updated, ok[3] = packTime(t.updated)
	more.lastUsed, ok[4] = packTime(t.lastUsed)
	if ok != [5]bool{true, true, true, true, true} {
		exact := t
		more.exact = &exact
	}
	if more.needed(r.created) {
		m := more
		r.more = &m
	}
}

// needed says whether m holds anything a record without one does not:
// a record without one was never updated after its creation.
func (m *keyMore) needed(created int64) bool {
	return m.invalidated || m.invalidatedAt != 0 || m.updated != created || m.lastUsed != 0 || m.useSeq != 0 ||
		m.createdSeq != 0 || m.rotatedTo != "" || m.rotatedFrom != "" || m.exact != nil || m.metadata != nil
}

// unchangedMeta stands for a key's metadata in a key folded from its
// record (forFold): a fold that leaves it there changed no metadata, and
// the record's encoding stays without being decoded and encoded again.
var unchangedMeta = map[string]any{}

func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// same says whether p holds these very descriptors (a fold that left them
// alone).
func (p *keyPerm) same(roles domain.RoleDescriptors, limited []domain.RoleDescriptors) bool {
	return reflect.ValueOf(p.roles).Pointer() == reflect.ValueOf(roles).Pointer() &&
		reflect.ValueOf(p.limited).Pointer() == reflect.ValueOf(limited).Pointer() && len(p.limited) == len(limited) && cap(p.limited) == cap(limited)
}

// key is the record's key; its Metadata is decoded only withMeta (it is
// nil otherwise).
func (r *keyRec) key(withMeta bool) domain.Key {
	c := r.c
	k := domain.Key{ID: r.ID, Tenant: c.Tenant, Project: c.Project, Scope: c.Scope, Type: c.Type, Name: r.Name,
		Owner: c.Owner, CreatedBy: c.CreatedBy, Hash: r.hash, RoleDescriptors: c.roles, LimitedBy: c.limited,
		Invalidated: r.invalidated(), Seq: r.Seq, CreatedSeq: r.createdSeq()}
	k.Created, k.Expires = unpackTime(r.created), unpackTime(r.expires)
	k.Updated = k.Created
	if m := r.more; m != nil {
		k.InvalidatedAt, k.Updated, k.LastUsed = unpackTime(m.invalidatedAt), unpackTime(m.updated), unpackTime(m.lastUsed)
		k.UseSeq, k.RotatedTo, k.RotatedFrom = m.useSeq, m.rotatedTo, m.rotatedFrom
		if x := m.exact; x != nil {
			k.Created, k.Expires, k.InvalidatedAt, k.Updated, k.LastUsed = x.created, x.expires, x.invalidatedAt, x.updated, x.lastUsed
		}
	}
	if withMeta {
		k.Metadata = r.metadata()
	}
	return k
}

// metadata is the record's key's metadata, decoded.
func (r *keyRec) metadata() map[string]any {
	if r.more != nil && r.more.metadata != nil {
		return r.more.metadata
	}
	return decodeMeta(r.meta)
}

// forFold is the record's key to fold an event into: its metadata left
// encoded (unchangedMeta).
func (r *keyRec) forFold() domain.Key {
	k := r.key(false)
	k.Metadata = unchangedMeta
	return k
}

// The fields filters and sorts read, without making a key.

func (r *keyRec) createdAt() time.Time {
	if r.more != nil && r.more.exact != nil {
		return r.more.exact.created
	}
	return unpackTime(r.created)
}

func (r *keyRec) expiresAt() time.Time {
	if r.more != nil && r.more.exact != nil {
		return r.more.exact.expires
	}
	return unpackTime(r.expires)
}

func (r *keyRec) lastUsed() time.Time {
	switch {
	case r.more == nil:
		return time.Time{}
	case r.more.exact != nil:
		return r.more.exact.lastUsed
	}
	return unpackTime(r.more.lastUsed)
}

// status is domain.Key.Status.
func (r *keyRec) status(now time.Time) domain.KeyStatus {
	switch {
	case r.invalidated():
		return domain.StatusInvalidated
	case r.expires != 0 || r.more != nil && r.more.exact != nil:
		if e := r.expiresAt(); !e.IsZero() && !now.Before(e) {
			return domain.StatusExpired
		}
	}
	return domain.StatusActive
}

// unusedSince is domain.Key.UnusedSince.
func (r *keyRec) unusedSince(t time.Time) bool {
	if u := r.lastUsed(); !u.IsZero() {
		return u.Before(t)
	}
	return r.createdAt().Before(t)
}
