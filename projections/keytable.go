package projections

import (
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// KeyTable numbers key ids densely, in the order they are first seen: an
// id's slot. The projections that keep something for every key (Keys,
// AuthIndex, Expiry) share one and hold their per-key state in slices
// indexed by slot. A key event is then looked up in one hash table, which
// the first projection to fold it has just brought into the cache, instead
// of in a map of each projection's own: at a million keys each of those
// was a cache and a TLB miss per new key, a third of a replay's folding.
// Slots live only in memory; snapshots and digests name keys by id. A
// table only grows: an id keeps its slot, as the auth index keeps every key
// ever created. Its lock also guards the AuthIndex on it (auth.go).
type KeyTable struct {
	mu    sync.RWMutex
	slots slotIndex
	ids   []domain.KeyID // by slot
	// quarantine is what the projections on the table refuse (hide, fail
	// to authenticate) because an event about it could not be folded.
	quarantine *Quarantine
}

// NewKeyTable returns an empty table, with an empty quarantine.
func NewKeyTable() *KeyTable {
	return &KeyTable{slots: newSlotIndex(), quarantine: NewQuarantine()}
}

// Quarantine is what the projections on t refuse: give it to the runner
// that feeds them (NewRunner), so that it records there what it cannot fold.
func (t *KeyTable) Quarantine() *Quarantine { return t.quarantine }

// Reserve makes room for n ids in an empty table (see Keys.Reserve).
func (t *KeyTable) Reserve(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ids) == 0 {
		t.slots.reserve(n)
		t.ids = make([]domain.KeyID, 0, n)
	}
}

// Len is how many ids the table has given slots to.
func (t *KeyTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.ids)
}

// Slot is id's slot; ok is false when id has none.
func (t *KeyTable) Slot(id domain.KeyID) (slot uint32, ok bool) {
	t.mu.RLock()
	slot, ok = t.slots.find(string(id), t.ids)
	t.mu.RUnlock()
	return slot, ok
}

// slotOfBytes is Slot for an id in bytes, without allocating; t.mu is
// held.
func (t *KeyTable) slotOfBytes(id []byte) (uint32, bool) { return t.slots.findBytes(id, t.ids) }

// slotFor is id's slot, the next free one when id has none yet.
func (t *KeyTable) slotFor(id domain.KeyID) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.assignLocked(id)
}

// assignLocked is slotFor with t.mu held.
func (t *KeyTable) assignLocked(id domain.KeyID) uint32 {
	h := t.slots.hash(string(id))
	if s, ok := t.slots.lookup(h, string(id), t.ids); ok {
		return s
	}
	s := uint32(len(t.ids))
	t.slots.insert(h, s)
	t.ids = append(t.ids, id)
	return s
}

// placeBytesLocked is assignLocked for an id in bytes, which it copies
// only when it is new, hashing it once: the restore that numbers the
// table finds none of its ids there.
func (t *KeyTable) placeBytesLocked(id []byte) uint32 {
	h := t.slots.hashBytes(id)
	if s, ok := t.slots.lookupBytes(h, id, t.ids); ok {
		return s
	}
	s := uint32(len(t.ids))
	t.slots.insert(h, s)
	t.ids = append(t.ids, domain.KeyID(id))
	return s
}

// slotsOfEvents sets slots[i] to the slot of the key that evs[i] is about,
// giving new ids theirs, under one hold of the lock: how a projection
// folding a run of events resolves them. Events of other aggregates get 0,
// which their folds do not read.
func (t *KeyTable) slotsOfEvents(evs []domain.Event, slots []uint32) []uint32 {
	slots = slots[:0]
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range evs {
		s := uint32(0)
		if isKeyEvent(evs[i]) {
			s = t.assignLocked(domain.KeyID(evs[i].AggID))
		}
		slots = append(slots, s)
	}
	return slots
}

// foldRun is how a projection that keeps keys by slot folds a run of
// events, its own lock held (BatchApplier): the run's slots are resolved
// under one hold of the table's lock, into *scratch, then apply folds each
// event with its key's slot. It returns how many events apply folded.
func (t *KeyTable) foldRun(evs []domain.Event, scratch *[]uint32, apply func(domain.Event, uint32) error) (int, error) {
	slots := t.slotsOfEvents(evs, *scratch)
	*scratch = slots
	for i, ev := range evs {
		if err := apply(ev, slots[i]); err != nil {
			return i, err
		}
	}
	return len(evs), nil
}

// restoreRun is how many ids a restore resolves in one hold of the lock.
const restoreRun = 4096

// at is s[slot], zero past the end of s: a projection's slices reach only
// as far as the slots it has filled, and other projections sharing the
// table may have given out later ones.
func at[T any](s []T, slot uint32) T {
	if int(slot) < len(s) {
		return s[slot]
	}
	var zero T
	return zero
}

// put sets s[slot] to v, growing s with zeros as far as slot, and returns s.
func put[T any](s []T, slot uint32, v T) []T {
	var zero T
	for len(s) <= int(slot) {
		s = append(s, zero)
	}
	s[slot] = v
	return s
}

// resolveShared resolves the slots of n ids a restore holds (*id(i)),
// giving new ids theirs and replacing each by the table's copy (the
// restored projection then keeps no copy of its own), and hands use those
// of ids start to start+len(slots)-1 a run at a time. It holds the lock
// for restoreRun ids at a time, because projections restore at once and
// share the table.
func (t *KeyTable) resolveShared(n int, id func(int) *domain.KeyID, use func(start int, slots []uint32)) {
	slots := make([]uint32, 0, min(n, restoreRun))
	var g slotGuess
	for start := 0; start < n; start += restoreRun {
		end := min(start+restoreRun, n)
		slots = slots[:0]
		t.mu.Lock()
		for i := start; i < end; i++ {
			p := id(i)
			s, ok := g.try(t, string(*p))
			if !ok {
				s = t.assignLocked(*p)
				g.next = s + 1
			}
			*p = t.ids[s]
			slots = append(slots, s)
		}
		t.mu.Unlock()
		use(start, slots)
	}
}

// resolveBytes is resolveShared for ids in bytes (id(i)), which it copies
// only when they are new to the table: how a restore that names the same
// key many times (the audit trail) places its records. use runs with t.mu
// held, and may read t.ids.
func (t *KeyTable) resolveBytes(n int, id func(int) []byte, use func(i int, slot uint32)) {
	var g slotGuess
	for start := 0; start < n; start += restoreRun {
		end := min(start+restoreRun, n)
		t.mu.Lock()
		for i := start; i < end; i++ {
			b := id(i)
			s, ok := g.tryBytes(t, b)
			if !ok {
				s = t.placeBytesLocked(b)
				g.next = s + 1
			}
			use(i, s)
		}
		t.mu.Unlock()
	}
}

// slotGuess guesses the slot of the next id a restore resolves: the slot
// after the last one. The snapshots of the key list, the auth index and
// the expiry schedule all list their keys by id, and they restore at
// once: whichever resolves a run first numbers its ids in that order, and
// the others find each id where the guess says, one comparison with the
// id next to the last one instead of a hash lookup (a cache miss or two
// at a million keys: a tenth of a start's CPU). A restore whose ids come
// in another order (the audit trail's) soon stops guessing but for every
// 64th id, in case the order comes back.
type slotGuess struct {
	next   uint32
	misses int // consecutive
}

// try says whether id is at g.next, and moves the guess past it; the
// table's lock is held.
func (g *slotGuess) try(t *KeyTable, id string) (uint32, bool) {
	return g.check(g.skip() || int(g.next) >= len(t.ids) || string(t.ids[g.next]) != id)
}

// tryBytes is try for an id in bytes, which it does not copy.
func (g *slotGuess) tryBytes(t *KeyTable, id []byte) (uint32, bool) {
	return g.check(g.skip() || int(g.next) >= len(t.ids) || string(t.ids[g.next]) != string(id))
}

// skip says not to guess this time, after many misses in a row.
func (g *slotGuess) skip() bool { return g.misses >= 8 && g.misses%64 != 0 }

// check counts a miss, or moves the guess past a hit.
func (g *slotGuess) check(missed bool) (uint32, bool) {
	if missed {
		g.misses++
		return 0, false
	}
	g.misses = 0
	g.next++
	return g.next - 1, true
}
