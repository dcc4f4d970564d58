package projections

import (
	"slices"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Scan calls fn with every key of tenant t, without copying them, so that
// a query can look at many keys cheaply. The read lock is held only to
// copy the key pointers: a key in the list never changes (an update
// replaces it), so fn runs without the lock. fn must not modify the key;
// a key read later with Get may have changed meanwhile. Quarantined keys
// are left out (Get).
func (ks *Keys) Scan(t domain.TenantID, fn func(*domain.Key)) {
	for _, k := range ks.snapshotOf(t) {
		if !ks.table.quarantine.RefusesKey(k) {
			fn(k)
		}
	}
}

// snapshotOf is a copy of tenant t's key pointers, taken under the read
// lock.
func (ks *Keys) snapshotOf(t domain.TenantID) []*domain.Key {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return slices.Clone(ks.tenant(t))
}

// Active counts tenant t's keys that are active at now (the key policy's
// max_active_keys). As List, it holds the read lock only to copy the
// tenant's key pointers, and counts without it (a count under the lock
// held it half as long again as the copy: BenchmarkActiveKeys);
// quarantined keys count, since they may well be active.
func (ks *Keys) Active(t domain.TenantID, now time.Time) int {
	n := 0
	for _, k := range ks.snapshotOf(t) {
		if k.Status(now) == domain.StatusActive {
			n++
		}
	}
	return n
}
