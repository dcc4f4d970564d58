package projections

import (
	"hash/maphash"

	"github.com/keyplane/keyplane/domain"
)

// slotIndex finds a key id's slot in the key table: an open-addressing
// hash table of 8-byte cells, each a 32-bit hash of an id and its slot
// (plus one; 0 is an empty cell), the ids themselves in the table's ids
// by slot. A Go map from id to slot holds each id's string header beside
// its slot, about 40 bytes a key at a million keys; this holds 11 to 21.
// The hash decides the cell too, so growing moves cells without hashing
// an id again; an id is compared only where the hash matches.
type slotIndex struct {
	cells []uint64 // a power of two of them
	n     int
	seed  maphash.Seed
}

func newSlotIndex() slotIndex { return slotIndex{cells: make([]uint64, 8), seed: maphash.MakeSeed()} }

func (x *slotIndex) hash(id string) uint32 {
	h := maphash.String(x.seed, id)
	return uint32(h ^ h>>32)
}

// find is id's slot, if it has one; ids are the slots' ids.
func (x *slotIndex) find(id string, ids []domain.KeyID) (uint32, bool) {
	return x.lookup(x.hash(id), id, ids)
}

// findBytes is find for an id in bytes.
func (x *slotIndex) findBytes(id []byte, ids []domain.KeyID) (uint32, bool) {
	return x.lookupBytes(x.hashBytes(id), id, ids)
}

// hashBytes is hash for an id in bytes (maphash hashes a string and its
// bytes alike).
func (x *slotIndex) hashBytes(id []byte) uint32 {
	h := maphash.Bytes(x.seed, id)
	return uint32(h ^ h>>32)
}

// lookupBytes is lookup for an id in bytes.
func (x *slotIndex) lookupBytes(h uint32, id []byte, ids []domain.KeyID) (uint32, bool) {
	mask := uint32(len(x.cells) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return 0, false
		}
		if uint32(c>>32) == h && string(ids[uint32(c)-1]) == string(id) {
			return uint32(c) - 1, true
		}
	}
}

// lookup is find for an id whose hash is h.
func (x *slotIndex) lookup(h uint32, id string, ids []domain.KeyID) (uint32, bool) {
	mask := uint32(len(x.cells) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		c := x.cells[i]
		if c == 0 {
			return 0, false
		}
		if uint32(c>>32) == h && string(ids[uint32(c)-1]) == id {
			return uint32(c) - 1, true
		}
	}
}

// insert adds slot, of an id whose hash is h and which has none yet.
func (x *slotIndex) insert(h uint32, slot uint32) {
	if 4*(x.n+1) > 3*len(x.cells) {
		x.resize(2 * len(x.cells))
	}
	x.place(uint64(h)<<32 | uint64(slot+1))
	x.n++
}

func (x *slotIndex) place(c uint64) {
	mask := uint32(len(x.cells) - 1)
	i := uint32(c>>32) & mask
	for x.cells[i] != 0 {
		i = (i + 1) & mask
	}
	x.cells[i] = c
}

// resize moves the cells into size new ones (a power of two).
func (x *slotIndex) resize(size int) {
	old := x.cells
	x.cells = make([]uint64, size)
	for _, c := range old {
		if c != 0 {
			x.place(c)
		}
	}
}

// reserve makes room for n ids without growing.
func (x *slotIndex) reserve(n int) {
	size := len(x.cells)
	for 3*size < 4*n {
		size *= 2
	}
	if size > len(x.cells) {
		x.resize(size)
	}
}
