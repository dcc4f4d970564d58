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
	a.mu.RLock()
	all := make([]pair, 0, len(a.entries))
	for id, e := range a.entries {
		all = append(all, pair{id, e})
	}
	a.mu.RUnlock()
	return func() ([]byte, error) {
		sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
		w := writer{buf: make([]byte, 0, 16+len(all)*60)}
		w.uint(uint64(len(all)))
		for _, p := range all {
			w.str(string(p.id))
			w.buf = append(w.buf, p.e.hash[:]...)
			w.int(p.e.expiresMs)
			w.bool(p.e.invalidated)
		}
		return w.buf, nil
	}
}

// Restore replaces the index with a snapshot's.
func (a *AuthIndex) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	entries := make(map[domain.KeyID]authEntry, n)
	for range n {
		id := domain.KeyID(r.str())
		var e authEntry
		r.fixed(e.hash[:])
		e.expiresMs = r.int()
		e.invalidated = r.bool()
		entries[id] = e
	}
	if err := r.done(); err != nil {
		return err
	}
	a.mu.Lock()
	a.entries = entries
	a.mu.Unlock()
	return nil
}
