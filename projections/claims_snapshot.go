package projections

import (
	"sort"

	"github.com/keyplane/keyplane/domain"
)

// Name of the Idempotency-Key claims in snapshots and digests.
func (c *Claims) Name() string { return "claims@1" }

// Snapshot encodes every claim, sorted by tenant and claim id.
func (c *Claims) Snapshot() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	keys := make([]claimKey, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].t != keys[j].t {
			return keys[i].t < keys[j].t
		}
		return keys[i].id < keys[j].id
	})
	var w writer
	w.uint(uint64(len(keys)))
	for _, k := range keys {
		v := c.m[k]
		w.sym(string(k.t))
		w.str(k.id)
		w.str(string(v.KeyID))
		w.str(v.Request)
	}
	return w.buf, nil
}

// Restore replaces the claims with a snapshot's.
func (c *Claims) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	m := make(map[claimKey]domain.IdempotencyKeyClaimed, n)
	for range n {
		k := claimKey{t: domain.TenantID(r.sym()), id: r.str()}
		m[k] = domain.IdempotencyKeyClaimed{KeyID: domain.KeyID(r.str()), Request: r.str()}
	}
	if err := r.done(); err != nil {
		return err
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
	return nil
}
