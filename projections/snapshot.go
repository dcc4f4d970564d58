package projections

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Snapshotter is a projection that can save its state and start from it,
// so that a restart folds only the log's tail.
//
// Snapshot must be canonical: equal state gives equal bytes, whatever the
// order of map iteration or whether the state was folded or restored; the
// projection's digest is the SHA-256 of these bytes. Name is stable and
// carries a version ("keys@1"): change it whenever the encoding or the
// meaning of the state changes, and an older snapshot of it is ignored (the
// projection is then folded from the log).
type Snapshotter interface {
	Applier
	Name() string
	Snapshot() ([]byte, error)
	Restore([]byte) error
}

// ProjectionVersion is the version of the snapshot container below. A
// snapshot of another version is ignored and the log replayed.
const ProjectionVersion = 1

var snapMagic = []byte("KPSNAP\x00")

// ErrSnapshotUnusable means a snapshot is corrupt, of another version or of
// another log: the caller ignores it and replays the log instead.
var ErrSnapshotUnusable = errors.New("snapshot unusable")

// SavedState is a decoded snapshot: the projections' states at Seq.
type SavedState struct {
	Seq uint64
	// EventID is the id of the event at Seq, to tell a snapshot of this
	// log from one of a log that was recreated.
	EventID string
	Time    time.Time
	Parts   map[string][]byte
}

// Encode lays out the snapshot: magic, version, sequence, event id, time,
// the parts sorted by name, and a SHA-256 of all of it.
func (s SavedState) Encode() []byte {
	var w writer
	w.buf = append(w.buf, snapMagic...)
	w.uint(ProjectionVersion)
	w.uint(s.Seq)
	w.str(s.EventID)
	w.int(s.Time.UnixNano())
	names := sortedKeys(s.Parts)
	w.uint(uint64(len(names)))
	for _, n := range names {
		w.str(n)
		w.bytes(s.Parts[n])
	}
	sum := sha256.Sum256(w.buf)
	return append(w.buf, sum[:]...)
}

// DecodeSavedState checks and decodes a snapshot; any problem is
// ErrSnapshotUnusable with the reason.
func DecodeSavedState(b []byte) (SavedState, error) {
	var h SnapshotHasher
	h.Write(b)
	return DecodeHashedState(b, &h)
}

// SnapshotHasher computes a snapshot's checksum from its bytes as they are
// read (an io.Writer: see eventlog.Log.ReadSnapshot), so that
// DecodeHashedState need not read them all again: a snapshot of a million
// keys is 200+ MB. Its zero value is ready.
type SnapshotHasher struct {
	body hash.Hash
	n    int
	tail [sha256.Size]byte // the last bytes seen: the checksum, if they are the last
}

// Write hashes p, all but the last sha256.Size bytes seen so far.
func (h *SnapshotHasher) Write(p []byte) (int, error) {
	if h.body == nil {
		h.body = sha256.New()
	}
	held := min(h.n, sha256.Size) // bytes of tail in use, oldest first
	if len(p) >= sha256.Size {
		h.body.Write(h.tail[:held])
		h.body.Write(p[:len(p)-sha256.Size])
		copy(h.tail[:], p[len(p)-sha256.Size:])
	} else if spill := held + len(p) - sha256.Size; spill > 0 {
		h.body.Write(h.tail[:spill])
		copy(h.tail[:], h.tail[spill:held])
		copy(h.tail[held-spill:], p)
	} else {
		copy(h.tail[held:], p)
	}
	h.n += len(p)
	return len(p), nil
}

// matches says whether the hasher saw exactly b and b's trailing checksum
// is that of the rest.
func (h *SnapshotHasher) matches(b []byte) bool {
	if h.body == nil || h.n != len(b) || h.n < sha256.Size || !bytes.Equal(h.tail[:], b[len(b)-sha256.Size:]) {
		return false
	}
	return bytes.Equal(h.body.Sum(nil), h.tail[:])
}

// DecodeHashedState is DecodeSavedState for a snapshot whose bytes h has
// seen as they were read.
func DecodeHashedState(b []byte, h *SnapshotHasher) (SavedState, error) {
	if !isSnapshot(b) {
		return SavedState{}, errNotASnapshot
	}
	if !h.matches(b) {
		return SavedState{}, fmt.Errorf("%w: checksum mismatch (corrupt)", ErrSnapshotUnusable)
	}
	return DecodeCheckedState(b)
}

var errNotASnapshot = fmt.Errorf("%w: not a keyplane snapshot", ErrSnapshotUnusable)

// isSnapshot says whether b starts as a snapshot and can hold a checksum.
func isSnapshot(b []byte) bool {
	return len(b) >= len(snapMagic)+sha256.Size && bytes.HasPrefix(b, snapMagic)
}

// DecodeCheckedState is DecodeSavedState for bytes known to be those of a
// snapshot checked when it was written (a local copy of one,
// eventlog.ReadLocalSnapshot, checked whole as it was read): its SHA-256
// is not computed again.
func DecodeCheckedState(b []byte) (SavedState, error) {
	var s SavedState
	if !isSnapshot(b) {
		return s, errNotASnapshot
	}
	body := b[:len(b)-sha256.Size]
	r := reader{buf: body[len(snapMagic):]}
	if v := r.uint(); v != ProjectionVersion {
		return s, fmt.Errorf("%w: version %d, this binary reads %d", ErrSnapshotUnusable, v, ProjectionVersion)
	}
	s.Seq, s.EventID, s.Time = r.uint(), r.str(), time.Unix(0, r.int()).UTC()
	n := r.count()
	s.Parts = make(map[string][]byte, n)
	for range n {
		name := r.str()
		s.Parts[name] = r.bytes()
	}
	if err := r.done(); err != nil {
		return s, fmt.Errorf("%w: %v", ErrSnapshotUnusable, err)
	}
	return s, nil
}

// sortedKeys lists m's keys in order: snapshots and digests encode maps
// sorted, so that equal states encode equally.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writer appends a compact binary encoding. sym writes strings that repeat
// (tenants, projects, owners) once and then by number, so a million keys of
// a few tenants do not store each tenant id a million times.
type writer struct {
	buf    []byte
	syms   map[string]uint64
	actors map[domain.Actor]uint64
	owners map[domain.Owner]uint64
}

func (w *writer) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *writer) int(v int64)   { w.buf = binary.AppendVarint(w.buf, v) }
func (w *writer) str(s string)  { w.uint(uint64(len(s))); w.buf = append(w.buf, s...) }
func (w *writer) bytes(b []byte) {
	w.uint(uint64(len(b)))
	w.buf = append(w.buf, b...)
}
func (w *writer) bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// time writes a flag, then Unix seconds and nanoseconds: exact for any year
// an expiration may name (UnixNano overflows after 2262).
func (w *writer) time(t time.Time) {
	w.bool(!t.IsZero())
	if !t.IsZero() {
		w.int(t.Unix())
		w.uint(uint64(t.Nanosecond()))
	}
}

func (w *writer) sym(s string) {
	if i, ok := w.syms[s]; ok {
		w.uint(i + 1)
		return
	}
	if w.syms == nil {
		w.syms = map[string]uint64{}
	}
	w.syms[s] = uint64(len(w.syms))
	w.uint(0)
	w.str(s)
}

// reader decodes what writer wrote. The first error sticks and later reads
// return zero values, so decoders check once, at the end (done).
type reader struct {
	buf    []byte
	syms   []string
	actors []domain.Actor
	owners []domain.Owner
	metas  map[string]map[string]any // decoded metadata by encoding (keys_snapshot.go)
	// roles are decoded role descriptors and limited_by by their JSON
	// (sharedJSON, keys_snapshot.go).
	roles map[string]any
	err   error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed at %s", what)
	}
	r.buf = nil
}

// uint reads a uvarint. Most are one byte (flags, counts, symbol
// numbers): read inline, without the call of the general case, which a
// restore of a million keys makes millions of times.
func (r *reader) uint() uint64 {
	if b := r.buf; len(b) > 0 && b[0] < 0x80 {
		r.buf = b[1:]
		return uint64(b[0])
	}
	return r.uvarint()
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// int reads a varint, one byte inline as uint does.
func (r *reader) int() int64 {
	if b := r.buf; len(b) > 0 && b[0] < 0x80 {
		r.buf = b[1:]
		return int64(b[0]>>1) ^ -int64(b[0]&1) // zigzag
	}
	return r.varint()
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads a length and bounds it by what is left, so that a corrupt
// length cannot make a decoder allocate gigabytes.
func (r *reader) count() int {
	n := r.uint()
	if n > uint64(len(r.buf)) {
		r.fail("count")
		return 0
	}
	return int(n)
}

// countOf is count for elements that take at least min bytes each: a
// length claiming more of them than what is left can hold fails before
// anything is allocated for it (a decoder makes room for the count).
func (r *reader) countOf(min int) int {
	n := r.uint()
	if n > uint64(len(r.buf)/min) {
		r.fail("count")
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.count()
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) str() string { return string(r.bytes()) }

// u8 reads one byte (a flag or a tag); 0 when none is left.
func (r *reader) u8(what string) byte {
	if len(r.buf) == 0 {
		r.fail(what)
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) bool() bool { return r.u8("bool") == 1 }

func (r *reader) time() time.Time {
	if !r.bool() {
		return time.Time{}
	}
	sec := r.int()
	return time.Unix(sec, int64(r.uint())).UTC()
}

func (r *reader) fixed(dst []byte) {
	if len(r.buf) < len(dst) {
		r.fail("fixed")
		return
	}
	copy(dst, r.buf)
	r.buf = r.buf[len(dst):]
}

func (r *reader) sym() string {
	i := r.uint()
	if i == 0 {
		s := r.str()
		r.syms = append(r.syms, s)
		return s
	}
	if i > uint64(len(r.syms)) {
		r.fail("symbol")
		return ""
	}
	return r.syms[i-1]
}

// done reports the first error, or data left over.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.buf) != 0 {
		return fmt.Errorf("%d bytes left over", len(r.buf))
	}
	return nil
}
