package projections

import (
	"sort"

	"github.com/keyplane/keyplane/domain"
)

// Name of the auth index in snapshots and digests.
func (a *AuthIndex) Name() string { return "auth@1" }

// Snapshot encodes every entry, sorted by key id.
func (a *AuthIndex) Snapshot() ([]byte, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	ids := make([]domain.KeyID, 0, len(a.entries))
	for id := range a.entries {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	w := writer{buf: make([]byte, 0, 16+len(ids)*60)}
	w.uint(uint64(len(ids)))
	for _, id := range ids {
		e := a.entries[id]
		w.str(string(id))
		w.buf = append(w.buf, e.hash[:]...)
		w.int(e.expiresMs)
		w.bool(e.invalidated)
	}
	return w.buf, nil
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
