package api_test

import (
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
)

// What the console's session tests (api/web) and this package's throttle
// tests share: the owner, a clock the test moves, a keyplane on it.

const owner, password = testapp.Owner, testapp.Password

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func start(t *testing.T, now func() time.Time) string {
	t.Helper()
	return testapp.Start(t, func(c *app.Config) { c.Now = now }).URL()
}
