package es_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// The helpers of api's es_helpers_test.go that this package's tests use,
// over the shared starter (testapp) and client (testhttp).

const ownerAuth = testapp.Owner + ":" + testapp.Password

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

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

// esResp is one answer of the Elasticsearch surface.
type esResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// esDo sends a request with an Authorization header (empty: none).
func esDo(t testing.TB, method, url, auth string, body any) esResp {
	t.Helper()
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	r := testhttp.Do(t, method, url, body, "Authorization", auth, "Content-Type", ct)
	return esResp{status: r.Status, header: r.Header, body: r.Body, raw: r.Raw}
}

func (r esResp) must(t testing.TB, status int) esResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (r esResp) str(k string) string { s, _ := r.body[k].(string); return s }
