package projections

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// A keys@5 snapshot restores every tenant's indexes (none is left to its
// first reader), those its list had not built yet too (the snapshot
// builds them); a keys@4 snapshot restores with every index lazy, and
// lists from either answer as a scan
// (TestListsOfAPlacementInOrderAnswerAsTheScan).
func TestTheTenantsIndexesRestoreFromTheKeyListsSnapshot(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 27))
	ks, _ := placedKeys(t, rng, 400)
	readyAll(ks)
	ks.byTenant["o2"].lastUse.lazy()
	restored := restoreInto(t, ks, NewKeys())
	for tenant, l := range restored.byTenant {
		for i, by := range listIndexes {
			if !l.built(i) {
				t.Errorf("%s's index %s restored unbuilt", tenant, by)
			}
		}
		if l.owners.unbuilt {
			t.Errorf("%s's owner lists were not restored", tenant)
		}
	}
	old := NewKeys()
	if err := old.RestoreOlder(keysV4, keysPart(t, ks)); err != nil {
		t.Fatal(err)
	}
	for tenant, l := range old.byTenant {
		for i, by := range listIndexes {
			if l.built(i) {
				t.Errorf("%s's index %s restored from keys@4 built", tenant, by)
			}
		}
	}
	listsAnswerAsTheScan(t, rng, "restored", restored, 1000)
	for _, tenant := range []domain.TenantID{"o1", "o2"} {
		for _, owner := range []string{"alice", "bob", "carol", "dave"} {
			f, p := Filter{Tenant: tenant, Owner: owner, Now: t0}, Page{Sort: "created", Size: -1}
			got, _ := restored.List(f, p)
			want, _ := scanList(restored, f, p)
			if !reflect.DeepEqual(ids(got), ids(want)) {
				t.Errorf("%s's keys of %s restored: %v, scanned %v", tenant, owner, ids(got), ids(want))
			}
		}
	}
	listsAnswerAsTheScan(t, rng, "restored from keys@4", old, 1000)
}

// A keys@5 snapshot whose indexes are damaged is refused, whatever the
// damage (a position out of range or twice, an index out of order, an
// unknown index, a tenant it does not hold or of another count, a part
// cut short or followed by more), and the list keeps its state; bytes
// flipped at random anywhere in the indexes never make a restore panic.
func TestAKeysSnapshotWithDamagedIndexesIsRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	ks, _ := placedKeys(t, rng, 400)
	readyAll(ks)
	snap, err := ks.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	start := len(keysPart(t, ks))
	// The first tenant's header: its id, count and indexes present.
	r := reader{buf: snap[start:]}
	r.count()
	idAt := len(snap) - len(r.buf)
	r.str()
	countAt := len(snap) - len(r.buf)
	n := r.uint()
	maskAt := len(snap) - len(r.buf)
	if r.u8("mask") != 1<<len(listIndexes)-1 || r.err != nil {
		t.Fatalf("the snapshot is not as this test expects: %v", r.err)
	}
	pos, wd := maskAt+1, width(int(n)) // the first index's positions
	first, second := func(b []byte) []byte { return b[pos : pos+wd] }, func(b []byte) []byte { return b[pos+wd : pos+2*wd] }
	for name, damage := range map[string]func(b []byte) []byte{
		"a position out of range": func(b []byte) []byte { copy(first(b), bytes.Repeat([]byte{0xff}, wd)); return b },
		"a position twice":        func(b []byte) []byte { copy(first(b), second(b)); return b },
		"out of order": func(b []byte) []byte {
			x := bytes.Clone(first(b))
			copy(first(b), second(b))
			copy(second(b), x)
			return b
		},
		"an unknown index":   func(b []byte) []byte { b[maskAt] |= 1 << len(listIndexes); return b },
		"another tenant":     func(b []byte) []byte { b[idAt+1] = 'x'; return b },
		"another count":      func(b []byte) []byte { b[countAt]++; return b },
		"cut short":          func(b []byte) []byte { return b[:len(b)-1] },
		"followed by more":   func(b []byte) []byte { return append(b, 0) },
		"one tenant more":    func(b []byte) []byte { b[start]++; return b },
		"no index section":   func(b []byte) []byte { return b[:start] },
		"indexes cut in two": func(b []byte) []byte { return b[:pos+int(n)] },
		"owner runs not adding up": func(b []byte) []byte {
			b[pos+3*int(n)*wd]++ // after created, name and owner
			return b
		},
	} {
		into, _ := placedKeys(t, rand.New(rand.NewPCG(3, 3)), 50)
		before := keysPart(t, into)
		if err := into.Restore(damage(bytes.Clone(snap))); err == nil {
			t.Errorf("%s: the snapshot restored", name)
		}
		if !bytes.Equal(keysPart(t, into), before) {
			t.Errorf("%s: a failed restore changed the list", name)
		}
	}
	for range 3000 {
		b := bytes.Clone(snap)
		for range 1 + rng.IntN(3) {
			b[start+rng.IntN(len(b)-start)] ^= byte(1 + rng.IntN(255))
		}
		_ = NewKeys().Restore(b) // refused or not, never a panic
	}
}

// readyAll builds every index of every tenant of ks (keys created again
// leave some to their first reader).
func readyAll(ks *Keys) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, l := range ks.byTenant {
		for _, by := range listIndexes {
			l.viewOf(by)
		}
		l.owners.ready(l.keys)
	}
}

// Snapshots taken while keys are folded and lists read (building the
// indexes left to their first reader) restore, and their lists answer
// as a scan: a snapshot copies each index under its lock (run with -race).
func TestSnapshotsTakenWhileFoldingAndListingRestore(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 2))
	ks, fold := placedKeys(t, rng, 200)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			for _, by := range listIndexes {
				ks.List(Filter{Tenant: domain.TenantID([]string{"o1", "o2"}[i%2])}, Page{Sort: by, Size: 3})
			}
		}
	}()
	for i := range 20 {
		fold(ks, i) // the fold's own rng: this goroutine only
		snap, err := ks.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		restored := NewKeys()
		if err := restored.Restore(snap); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		listsAnswerAsTheScan(t, rng, "restored meanwhile", restored, 20)
	}
	<-done
}

// TestAnInvalidationBeforeItsKeysCreationLeavesNoRecord: a log whose
// invalidation of a key comes before the key's creation (damaged, or
// written out of order) is refused at that event: no record of no id and
// no time is left in a list, whose snapshot then restores with its
// indexes (ties of such records failed the restore's order check).
func TestAnInvalidationBeforeItsKeysCreationLeavesNoRecord(t *testing.T) {
	ks := NewKeys()
	seq := uint64(0)
	apply := func(id string, p domain.Payload) error {
		seq++
		ev := domain.NewEvent(fmt.Sprint("e", seq), "o1", domain.AggKey, id, domain.Meta{Time: t0}, p)
		ev.Seq = seq
		return ks.Apply(ev)
	}
	for _, id := range []string{"k1", "k2"} {
		if err := apply(id, domain.KeyInvalidated{}); err == nil {
			t.Fatalf("the invalidation of %s before its creation folded", id)
		}
	}
	for _, id := range []string{"k1", "k2", "k3"} {
		if err := apply(id, domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: domain.ScopeOrg, Owner: domain.Owner{User: "alice"}, Hash: hashHex}); err != nil {
			t.Fatal(err)
		}
	}
	readyAll(ks)
	restored := restoreInto(t, ks, NewKeys())
	if got, n := restored.List(Filter{Tenant: "o1", Now: t0}, Page{Sort: "created", Size: 10}); n != 3 || len(got) != 3 {
		t.Fatalf("restored list holds %d keys (total %d), want 3", len(got), n)
	}
	if ks.Len() != 3 {
		t.Fatalf("the list counts %d keys, want 3", ks.Len())
	}
}

// TestMetadataIsCheckedAsTheDecoderReadsIt: validMeta, which reads past
// each value without making it, accepts exactly the encodings of objects
// the decoder reads whole: every metadata a key can hold, and none of
// their truncations, other values, or nestings deeper than a body may be.
func TestMetadataIsCheckedAsTheDecoderReadsIt(t *testing.T) {
	deep := map[string]any{}
	for range domain.MaxBodyDepth {
		deep = map[string]any{"a": deep}
	}
	for _, c := range []struct {
		v    any
		want bool
	}{
		{map[string]any{}, true},
		{map[string]any{"team": "a", "n": 1.0, "ok": true, "none": nil, "tags": []any{"x", 2.0, map[string]any{"team": "b"}}}, true},
		{map[string]any{"a": map[string]any{"a": map[string]any{"b": []any{[]any{}}}}, "b": "a"}, true},
		{deep, false},
		{[]any{1.0}, false},
		{"team", false},
	} {
		var w writer
		w.any(c.v)
		if got := validMeta(w.buf); got != c.want {
			t.Errorf("%v: valid %v, want %v", c.v, got, c.want)
		}
		if !c.want {
			continue
		}
		for n := range len(w.buf) {
			if validMeta(w.buf[:n]) {
				t.Errorf("%v: its first %d of %d bytes are valid", c.v, n, len(w.buf))
			}
		}
		if validMeta(append(w.buf, 0)) {
			t.Errorf("%v: valid with a byte more", c.v)
		}
	}
}

// TestOwnerRunsCountingMoreRunsThanKeysAreRefusedUnallocated: a keys@5
// owner index claiming more runs than its tenant has keys is refused
// before anything is made for that count (it was 8 bytes a byte left).
func TestOwnerRunsCountingMoreRunsThanKeysAreRefusedUnallocated(t *testing.T) {
	const size = 1 << 20
	b := binary.AppendUvarint(nil, size-8)
	b = append(b, bytes.Repeat([]byte{1}, size-len(b))...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := reader{buf: b}
	lens := r.runLengths(10)
	runtime.ReadMemStats(&after)
	if lens != nil || r.err == nil {
		t.Fatalf("%d runs of 10 keys read", len(lens))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size {
		t.Fatalf("refusing them allocated %d KB", grew>>10)
	}
}

// A snapshot's encoding that ends after the list was restored (keys@4:
// its indexes lazy) gives the restored list none of the indexes it built
// on its copy: the copy's positions are the folded list's, which a
// restore orders by id, so the restored list read by owner in that order
// listed k2 before k1.
func TestAnEncodingAfterARestoreGivesTheRestoredListNoIndex(t *testing.T) {
	ks := NewKeys()
	for i, id := range []domain.KeyID{"k2", "k1"} { // folded out of id order
		c := domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeOrg, Owner: domain.Owner{User: "alice"}, Hash: hashHex}
		ev := domain.NewEvent(fmt.Sprint(i), "o1", domain.AggKey, string(id), domain.Meta{Time: t0}, c)
		ev.Seq = uint64(i + 1)
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	encode := ks.Capture()
	if err := ks.RestoreOlder(keysV4, keysPart(t, ks)); err != nil {
		t.Fatal(err)
	}
	if _, err := encode(); err != nil {
		t.Fatal(err)
	}
	for _, by := range listIndexes {
		f, p := Filter{Tenant: "o1", Now: t0}, Page{Sort: by, Size: 10}
		got, _ := ks.List(f, p)
		want, _ := scanList(ks, f, p)
		if !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("by %s: listed %v, scanned %v", by, ids(got), ids(want))
		}
	}
}
