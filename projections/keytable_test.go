package projections

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestAKeyTableNumbersIDsInTheOrderFirstSeen(t *testing.T) {
	tbl := NewKeyTable()
	for i, id := range []domain.KeyID{"b", "a", "b", "c", "a"} {
		want := map[domain.KeyID]uint32{"b": 0, "a": 1, "c": 2}[id]
		if got := tbl.slotFor(id); got != want {
			t.Fatalf("id %d (%s): slot %d, want %d", i, id, got, want)
		}
	}
	if _, ok := tbl.Slot("z"); ok {
		t.Fatal("an id never seen has a slot")
	}
	if ids := tbl.ids; !slices.Equal(ids, []domain.KeyID{"b", "a", "c"}) {
		t.Fatalf("ids by slot: %v", ids)
	}
	evs := []domain.Event{
		domain.NewEvent("1", "o1", domain.AggKey, "d", domain.Meta{}, domain.KeyInvalidated{}),
		domain.NewEvent("2", "o1", domain.AggOrg, "o1", domain.Meta{}, domain.OrgCreated{OrgID: "o1"}),
		domain.NewEvent("3", "o1", domain.AggKey, "a", domain.Meta{}, domain.KeyInvalidated{}),
	}
	if got := tbl.slotsOfEvents(evs, nil); !slices.Equal(got, []uint32{3, 0, 1}) {
		t.Fatalf("slots of a run: %v", got)
	}
}

// keyTrio are the projections that keep keys by slot, on one table.
type keyTrio struct {
	keys   *Keys
	auth   *AuthIndex
	expiry *Expiry
}

func newTrio(shared bool) keyTrio {
	w := []domain.NoticeWindow{domain.NoticeWindow(30 * 24 * time.Hour), domain.NoticeWindow(7 * 24 * time.Hour)}
	if !shared {
		return keyTrio{NewKeys(), NewAuthIndex(), NewExpiry(w)}
	}
	tbl := NewKeyTable()
	return keyTrio{NewKeysIn(tbl), NewAuthIndexIn(tbl), NewExpiryIn(w, tbl)}
}

func (k keyTrio) all() []Snapshotter { return []Snapshotter{k.keys, k.auth, k.expiry} }

// Projections that share a key table hold and answer exactly what each
// holds on a table of its own, folded one by one or in runs, and restored
// from snapshots at once.
func TestProjectionsSharingAKeyTableAnswerAsOnTheirOwn(t *testing.T) {
	evs := richTrail(t)
	own, shared := newTrio(false), newTrio(true)
	fold(t, own.all(), evs)
	r := NewRunner(appliers(shared.all())...)
	for i := 0; i < len(evs); i += 4 {
		if err := r.ApplyAll(slices.Clone(evs[i:min(i+4, len(evs))])); err != nil {
			t.Fatal(err)
		}
	}
	want := digests(t, own.all())
	if got := digests(t, shared.all()); !maps.Equal(got, want) {
		t.Fatalf("shared table:\n%v\nown tables:\n%v", got, want)
	}
	sameAnswers(t, own, shared)

	// Restored at once, as a start restores them (Runner.Resume).
	restored := newTrio(true)
	var wg sync.WaitGroup
	for i, p := range shared.all() {
		b, err := p.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := restored.all()[i].Restore(b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := digests(t, restored.all()); !maps.Equal(got, want) {
		t.Fatalf("restored on a shared table:\n%v\nown tables:\n%v", got, want)
	}
	sameAnswers(t, own, restored)
}

// sameAnswers checks what the request path and the notifier ask of the
// projections: a key by id, a credential's verdict, the keys due.
func sameAnswers(t *testing.T, want, got keyTrio) {
	t.Helper()
	if want.keys.Len() != got.keys.Len() || want.auth.Len() != got.auth.Len() || want.expiry.Len() != got.expiry.Len() {
		t.Fatalf("lengths %d/%d/%d, want %d/%d/%d", got.keys.Len(), got.auth.Len(), got.expiry.Len(),
			want.keys.Len(), want.auth.Len(), want.expiry.Len())
	}
	for _, id := range []domain.KeyID{"k1", "k2", "k3", "k9", "nope"} {
		w, wok := want.keys.ByID(id)
		g, gok := got.keys.ByID(id)
		if wok != gok || w.Name != g.Name || w.Seq != g.Seq {
			t.Errorf("key %s: %v %+v, want %v %+v", id, gok, g, wok, w)
		}
		for _, secret := range []string{"test", "wrong"} {
			now := t0.Add(24 * time.Hour)
			if w, g := want.auth.Verify([]byte(id), []byte(secret), now), got.auth.Verify([]byte(id), []byte(secret), now); w != g {
				t.Errorf("verify %s with %q: %v, want %v", id, secret, g, w)
			}
		}
	}
	far := t0.Add(10 * 365 * 24 * time.Hour)
	if w, g := want.expiry.Due(far, nil), got.expiry.Due(far, nil); !slices.Equal(w, g) {
		t.Errorf("due:\n%v\nwant\n%v", g, w)
	}
}

// Verifying a credential must not allocate: it runs on every request.
func TestVerifyDoesNotAllocate(t *testing.T) {
	trio := newTrio(true)
	fold(t, trio.all(), richTrail(t))
	id, secret, now := []byte("k3"), []byte("test"), t0
	if v := trio.auth.Verify(id, secret, now); v != Valid {
		t.Fatalf("verdict %v", v)
	}
	if n := testing.AllocsPerRun(100, func() { trio.auth.Verify(id, secret, now) }); n != 0 {
		t.Fatalf("%v allocations per verification", n)
	}
}

// Through the table's growth (reserved or not), every id keeps the slot it
// was first given and is found by it, as a string and in bytes, while ids
// never seen, and ids differing by one byte, are not.
func TestAKeyTableFindsEachOfManyIDsItsSlotAndNoOtherID(t *testing.T) {
	for _, reserve := range []int{0, 50_000} {
		tbl := NewKeyTable()
		tbl.Reserve(reserve)
		const n = 50_000
		id := func(i int) domain.KeyID { return domain.KeyID(fmt.Sprintf("key-%07d", i)) }
		for i := range n {
			if got := tbl.slotFor(id(i)); got != uint32(i) {
				t.Fatalf("id %d got slot %d", i, got)
			}
		}
		for i := range n {
			s, ok := tbl.Slot(id(i))
			tbl.mu.RLock()
			b, okb := tbl.slotOfBytes([]byte(id(i)))
			tbl.mu.RUnlock()
			if !ok || !okb || s != uint32(i) || b != uint32(i) || tbl.slotFor(id(i)) != uint32(i) {
				t.Fatalf("id %d found at %d/%d (%v/%v)", i, s, b, ok, okb)
			}
		}
		for _, other := range []domain.KeyID{"", "key-", id(n), id(-1), "key-00000001", id(1) + "x"} {
			if s, ok := tbl.Slot(other); ok {
				t.Fatalf("id %q never seen has slot %d", other, s)
			}
		}
		if len(tbl.ids) != n {
			t.Fatalf("%d ids for %d", len(tbl.ids), n)
		}
	}
}

// A restore guesses each id's slot from the one before (slotGuess): a
// guess that hits, one that misses, ids in another order than the table's
// and ids new to it all get the slot the table gives them.
func TestARestoreResolvesEveryIDToItsSlotInWhateverOrderTheyCome(t *testing.T) {
	tests := []struct {
		name  string
		table []domain.KeyID // already in the table, in slot order
		ids   []domain.KeyID // resolved by the restore
	}{
		{"in the table's order", []domain.KeyID{"a", "b", "c", "d"}, []domain.KeyID{"a", "b", "c", "d"}},
		{"reversed", []domain.KeyID{"a", "b", "c", "d"}, []domain.KeyID{"d", "c", "b", "a"}},
		{"with gaps and new ids", []domain.KeyID{"a", "b", "c", "d"}, []domain.KeyID{"a", "c", "x", "d", "y", "b"}},
		{"into an empty table", nil, []domain.KeyID{"a", "b", "c"}},
		{"runs in another order", manyIDs(200, 0), append(manyIDs(100, 100), manyIDs(100, 0)...)},
		{"long reversed: guesses stop, then resume", manyIDs(300, 0), append(reversed(manyIDs(200, 0)), manyIDs(100, 200)...)},
		// Ids new to the table among others, placed as the guesses stop.
		{"scattered, new ids and duplicates among them", manyIDs(200, 0), scattered(append(manyIDs(400, 0), manyIDs(100, 300)...))},
		{"new ids twice in a row, once guesses stopped", manyIDs(200, 0), append(reversed(manyIDs(200, 0)), twice(manyIDs(40, 500))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, shared := range []bool{false, true} {
				tbl := NewKeyTable()
				for _, id := range tt.table {
					tbl.slotFor(id)
				}
				got := make([]uint32, len(tt.ids))
				if shared {
					ids := slices.Clone(tt.ids)
					tbl.resolveShared(len(ids), func(i int) *domain.KeyID { return &ids[i] }, func(start int, slots []uint32) {
						copy(got[start:], slots)
					})
				} else {
					tbl.resolveBytes(len(tt.ids), func(i int) []byte { return []byte(tt.ids[i]) }, func(i int, slot uint32) { got[i] = slot })
				}
				for i, id := range tt.ids {
					if want, ok := tbl.Slot(id); !ok || got[i] != want {
						t.Fatalf("shared=%v: %s resolved to slot %d, the table has it at %d (%v)", shared, id, got[i], want, ok)
					}
				}
				if len(tbl.ids) != len(slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(tt.table), tt.ids...))))) {
					t.Fatalf("shared=%v: %d ids in the table: %v", shared, len(tbl.ids), tbl.ids)
				}
			}
		})
	}
}

func manyIDs(n, from int) []domain.KeyID {
	ids := make([]domain.KeyID, n)
	for i := range ids {
		ids[i] = domain.KeyID(fmt.Sprintf("k%04d", from+i))
	}
	return ids
}

// scattered is ids in an order of their own, the same every time.
func scattered(ids []domain.KeyID) []domain.KeyID {
	out := make([]domain.KeyID, len(ids))
	for i := range ids {
		out[i] = ids[(i*7919)%len(ids)]
	}
	return out
}

// twice is ids with each one repeated next to itself.
func twice(ids []domain.KeyID) []domain.KeyID {
	var out []domain.KeyID
	for _, id := range ids {
		out = append(out, id, id)
	}
	return out
}

func reversed(ids []domain.KeyID) []domain.KeyID {
	slices.Reverse(ids)
	return ids
}
