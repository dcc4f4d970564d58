package api_test

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
)

// What the console's session tests (api/web) and this package's throttle
// tests share: the owner and a keyplane on a clock the test moves
// (internal/testclock).

const owner, password = testapp.Owner, testapp.Password

func start(t *testing.T, now func() time.Time) string {
	t.Helper()
	return testapp.Start(t, func(c *app.Config) { c.Now = now }).URL()
}
