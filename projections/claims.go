package projections

import (
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// Claims holds the Idempotency-Key claims of creates, by tenant and claim id.
type Claims struct {
	mu sync.RWMutex
	m  map[claimKey]domain.IdempotencyKeyClaimed
}

type claimKey struct {
	t  domain.TenantID
	id string
}

// NewClaims returns an empty claim set.
func NewClaims() *Claims { return &Claims{m: map[claimKey]domain.IdempotencyKeyClaimed{}} }

// Apply folds claim events.
func (c *Claims) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggIdem {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.m[claimKey{ev.Tenant, ev.AggID}] = p.(domain.IdempotencyKeyClaimed)
	c.mu.Unlock()
	return nil
}

// Get returns the claim id of tenant t.
func (c *Claims) Get(t domain.TenantID, id string) (domain.IdempotencyKeyClaimed, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[claimKey{t, id}]
	return v, ok
}
