package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
)

// fuzzRoutes are the requests with a JSON body, console and Elasticsearch
// surface alike; {id} is a key that exists. FuzzHandlers picks one by
// index (its seed corpus names them).
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/orgs"},
	{"POST", "/api/v1/orgs/default/projects"},
	{"POST", "/api/v1/orgs/default/members"},
	{"PUT", "/api/v1/orgs/default/contacts"},
	{"POST", "/api/v1/orgs/default/api-keys"},
	{"POST", "/api/v1/orgs/default/projects/default/api-keys"},
	{"PUT", "/api/v1/orgs/default/api-keys/{id}"},
	{"POST", "/api/v1/orgs/default/api-keys/_bulk_delete"},
	{"POST", "/_security/api_key"},
	{"PUT", "/_security/api_key/{id}"},
	{"POST", "/_security/api_key/_bulk_update"},
	{"POST", "/_security/api_key/grant"},
	{"DELETE", "/_security/api_key"},
	{"POST", "/_security/_query/api_key"},
	{"POST", "/_security/user/_has_privileges"},
	{"PUT", "/_security/user/fuzz-user"},
	{"PUT", "/_security/role/fuzz-role"},
	{"PUT", "/_security/privilege"},
	{"POST", "/_security/oauth2/token"},
	{"POST", "/_security/api_key/_bulk_grant"},
}

// FuzzHandlers sends arbitrary bodies to every route that decodes one,
// through the real HTTP server of one running keyplane (per fuzzing
// process), as its owner. Whatever the body, the answer is never a 5xx
// (the server turns a panic into a 500, so this catches panics too), and
// an error is a JSON body.
func FuzzHandlers(f *testing.F) {
	a := fuzzApp(f)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))
	id := fuzzKeyID(f, a.URL(), auth)
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.Replace(rt.path, "{id}", id, 1)
		req, err := http.NewRequest(rt.method, a.URL()+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rt.method, path, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, path, body, res.StatusCode, raw)
		}
		if res.StatusCode >= 400 && !json.Valid(raw) {
			t.Fatalf("%s %s %q: error %d is not JSON: %s", rt.method, path, body, res.StatusCode, raw)
		}
	})
}

// fuzzApp runs keyplane for the fuzz target's process.
func fuzzApp(f *testing.F) *app.App {
	f.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, app.Config{DataDir: f.TempDir(), Addr: "127.0.0.1:0", BootstrapOwner: "alice:alice-password",
		NeverAllowed: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(a.Close)
	return a
}

// fuzzKeyID creates the key the {id} routes point at.
func fuzzKeyID(f *testing.F, base, auth string) string {
	f.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/orgs/default/api-keys", strings.NewReader(`{"name":"fuzz-target"}`))
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
		f.Fatalf("create: %d %v", res.StatusCode, err)
	}
	return out.ID
}
