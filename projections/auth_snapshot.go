package projections

import (
	"sort"

	"github.com/keyplane/keyplane/domain"
)

// Name of the auth index in snapshots and digests.
func (a *AuthIndex) Name() string { return "auth@1" }

// Snapshot encodes every entry, sorted by key id.
func (a *AuthIndex) Snapshot() ([]byte, error) { return a.Capture()() }

// Capture copies the entries and returns their encoding, to run after the
// runner resumed.
func (a *AuthIndex) Capture() func() ([]byte, error) {
	type pair struct {
		id domain.KeyID
		e  authEntry
	}
	a.table.mu.RLock()
	ids := a.table.ids
	all := make([]pair, 0, a.count)
	for slot, e := range a.entries {
		if e.known() {
			all = append(all, pair{ids[slot], e})
		}
	}
	a.table.mu.RUnlock()
	return func() ([]byte, error) {
		sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
		w := writer{buf: make([]byte, 0, 16+len(all)*60)}
		w.uint(uint64(len(all)))
		for _, p := range all {
			w.str(string(p.id))
			w.buf = append(w.buf, p.e.hash[:]...)
			w.int(p.e.expiresMs())
			w.bool(p.e.invalidated())
		}
		return w.buf, nil
	}
}

// Restore replaces the index with a snapshot's. Entries are read and
// placed in the key table a run at a time, into the final slice: reading
// all of them first into slices of their own was 60 MB more to allocate
// (and fault in) at a million keys.
func (a *AuthIndex) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.countOf(35) // an id's length, its hash, expiry and flag
	entries, count := make([]authEntry, 0, n), 0
	a.table.Reserve(n)
	ids := make([][]byte, 0, min(n, restoreRun)) // the snapshot's bytes: copied only by a table new to them
	read := make([]authEntry, 0, min(n, restoreRun))
	for left := n; left > 0; left -= len(ids) {
		ids, read = ids[:0], read[:0]
		for range min(left, restoreRun) {
			ids = append(ids, r.bytes())
			e := authEntry{state: authKnown}
			r.fixed(e.hash[:])
			e.setExpiresMs(r.int())
			if r.bool() {
				e.state |= authInvalidated
			}
			read = append(read, e)
		}
		if r.err != nil {
			return r.err
		}
		a.table.resolveBytes(len(ids), func(i int) []byte { return ids[i] }, func(i int, slot uint32) {
			if !at(entries, slot).known() {
				count++
			}
			entries = put(entries, slot, read[i])
		})
	}
	if err := r.done(); err != nil {
		return err
	}
	a.table.mu.Lock()
	a.entries, a.count = entries, count
	a.table.mu.Unlock()
	return nil
}
