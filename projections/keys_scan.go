package projections

import (
	"slices"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Select returns the keys of tenant t that match accepts, in the order
// they were added. The read lock is held only to copy the record
// pointers: a record in the list never changes (an update replaces it),
// so match runs without the lock. match is lent each key without its
// metadata (Metadata nil), and must not keep it; only the keys it accepts
// are made whole. A key read later with Get may have changed meanwhile.
// Quarantined keys are left out (Get).
func (ks *Keys) Select(t domain.TenantID, match func(*domain.Key) bool) []domain.Key {
	var out []domain.Key
	var view domain.Key
	for _, r := range ks.snapshotOf(t) {
		if ks.refuses(r) {
			continue
		}
		view = r.key(false)
		if match(&view) {
			view.Metadata = r.metadata()
			out = append(out, view)
		}
	}
	return out
}

// snapshotOf is a copy of tenant t's record pointers, taken under the
// read lock.
func (ks *Keys) snapshotOf(t domain.TenantID) []*keyRec {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return slices.Clone(ks.tenant(t))
}

// Active counts tenant t's keys that are active at now (the key policy's
// max_active_keys). As List, it holds the read lock only to copy the
// tenant's record pointers, and counts without it (a count under the lock
// held it half as long again as the copy: BenchmarkActiveKeys);
// quarantined keys count, since they may well be active.
func (ks *Keys) Active(t domain.TenantID, now time.Time) int {
	n := 0
	for _, r := range ks.snapshotOf(t) {
		if r.status(now) == domain.StatusActive {
			n++
		}
	}
	return n
}
