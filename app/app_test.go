package app

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testhttp"
)

const ownerAuth = "alice:alice-password"

// startApp runs keyplane on a loopback port with its log in dir; each
// tweak adjusts the configuration.
func startApp(t testing.TB, dir string, now func() time.Time, tweak ...func(*Config)) *App {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := Config{DataDir: dir, Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, NeverAllowed: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard, Now: now}
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// client talks to one app with one credential.
type client struct {
	t    testing.TB
	base string
	auth string // "Basic ..." or "ApiKey ..."
}

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

func (a *App) as(t testing.TB, auth string) *client { return &client{t: t, base: a.URL(), auth: auth} }

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	r := testhttp.Do(c.t, method, c.base+path, body, append([]string{"Authorization", c.auth}, hdr...)...)
	return resp{status: r.Status, header: r.Header, body: r.Body, raw: r.Raw}
}

// must fails the test unless the response has the status.
func (r resp) must(t testing.TB, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

// createKey creates a key and returns its id and encoded credential.
func (c *client) createKey(path string, body any) (string, string) {
	c.t.Helper()
	r := c.do("POST", path, body).must(c.t, 201)
	return r.str("id"), r.str("encoded")
}

func apiKey(encoded string) string { return "ApiKey " + encoded }

// addMember has auth invite name to org with role, and name accept the
// invitation with a new login whose password is name + "-password".
func (a *App) addMember(t testing.TB, auth, org, name, role string) {
	t.Helper()
	testhttp.AddMember(t, a.URL(), basic(auth), org, testhttp.Member{Name: name, Password: name + "-password", Role: role})
}
