package projections

import "github.com/keyplane/keyplane/domain"

// Scan calls fn with every key of tenant t, under the read lock and without
// copying them, so that a query can look at many keys cheaply. fn must not
// keep the pointer, modify the key or call back into ks; it copies what it
// needs (a key read later with Get may have changed meanwhile).
// Quarantined keys are left out (Get).
func (ks *Keys) Scan(t domain.TenantID, fn func(*domain.Key)) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.tenant(t) {
		if !ks.table.quarantine.RefusesKey(k) {
			fn(k)
		}
	}
}
