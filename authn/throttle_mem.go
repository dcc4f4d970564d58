package authn

import (
	"context"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// memCounters is the Counters of an Authenticator built without a log
// (as the fuzz tests build the server): one process's, with the bucket's limits (a key is
// forgotten an hour after its last write; when full, new keys are refused).
type memCounters struct {
	mu  sync.Mutex
	rev uint64
	m   map[string]memCount
}

type memCount struct {
	v       []byte
	rev     uint64
	written time.Time
}

func newMemCounters() *memCounters { return &memCounters{m: map[string]memCount{}} }

func (c *memCounters) Get(_ context.Context, key string) ([]byte, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.written) > forgetAfter {
		return nil, 0, nil
	}
	return e.v, e.rev, nil
}

func (c *memCounters) Put(_ context.Context, key string, v []byte, rev uint64) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if ok && time.Since(e.written) > forgetAfter {
		ok = false
	}
	if ok && e.rev != rev || !ok && rev != 0 {
		return 0, domain.ErrConflict
	}
	if !ok && len(c.m) >= maxTracked && !c.prune() {
		return 0, &domain.Error{Kind: domain.KindUnavailable, Op: "throttle", Reason: "too many counts"}
	}
	c.rev++
	c.m[key] = memCount{v: v, rev: c.rev, written: time.Now()}
	return c.rev, nil
}

func (c *memCounters) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// prune drops forgotten keys and reports whether there is room now.
func (c *memCounters) prune() bool {
	for k, e := range c.m {
		if time.Since(e.written) > forgetAfter {
			delete(c.m, k)
		}
	}
	return len(c.m) < maxTracked
}
