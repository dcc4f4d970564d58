package projections

import (
	"slices"
	"sync"
)

// ownerIndex lists a tenant's keys by owner (the member a key acts for),
// in the order they were added: a list filtered by owner reads that
// owner's keys, not the tenant's. A key's owner changes only if the log
// creates it again: it is then also listed under its new owner, and the
// list filters what its candidates hold, so a posting left behind costs a
// candidate, never a miss. Lazy after a restore, as orderedIndex: the
// first reader builds it.
type ownerIndex struct {
	by      map[string][]int32
	mu      sync.Mutex // held by a reader that builds an unbuilt index
	unbuilt bool
}

// add indexes the key at pos, owned by owner (nothing while unbuilt).
// The owner's write lock is held.
func (o *ownerIndex) add(pos int32, owner string) {
	if o.unbuilt {
		return
	}
	if o.by == nil {
		o.by = map[string][]int32{}
	}
	o.by[owner] = append(o.by[owner], pos)
}

// lazy leaves the index to its first reader (ready).
func (o *ownerIndex) lazy() { o.by, o.unbuilt = nil, true }

// ready builds a lazy index over keys; a reader calls it under the
// owner's read lock, before reading the index.
func (o *ownerIndex) ready(keys []*keyRec) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.unbuilt {
		return
	}
	o.unbuilt = false
	for i, r := range keys {
		o.add(int32(i), r.c.Owner.User)
	}
}

// of are the positions of owner's keys, in the order they were added,
// each once (a key created again under an owner it had before is in its
// list twice, out of order: then a sorted copy is given).
func (o *ownerIndex) of(owner string) []int32 {
	ps := o.by[owner]
	for i := 1; i < len(ps); i++ {
		if ps[i] <= ps[i-1] {
			return slices.Compact(slices.Sorted(slices.Values(ps)))
		}
	}
	return ps
}
