package es_test

import (
	"testing"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// The helpers of api's es_helpers_test.go that this package's tests use,
// over the shared starter (testapp) and client (testhttp).

const ownerAuth = testapp.Owner + ":" + testapp.Password

func basic(userpass string) string { return testhttp.Basic(userpass) }

// startApp runs keyplane on a loopback port with its log in a temporary
// directory.
func startApp(tb testing.TB) *app.App {
	tb.Helper()
	return startAppIn(tb, tb.TempDir())
}

// startAppIn runs keyplane with its log in dir (a restart reuses it);
// tweak, if given, adjusts the configuration.
func startAppIn(tb testing.TB, dir string, tweak ...func(*app.Config)) *app.App {
	tb.Helper()
	return testapp.StartIn(tb, dir, tweak...)
}

// esResp is one answer of the Elasticsearch surface (testhttp.ES).
type esResp = testhttp.Response

// esDo sends a request with an Authorization header (empty: none).
func esDo(t testing.TB, method, url, auth string, body any) esResp {
	t.Helper()
	return testhttp.ES(t, method, url, auth, body)
}
