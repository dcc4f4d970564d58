package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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
	{"POST", "/api/v1/orgs/default/invitations"},
	{"POST", "/api/v1/invitations/_accept"},
	{"PUT", "/api/v1/orgs/default/members/nobody"},
	{"PUT", "/api/v1/orgs/default/policy"},
	{"POST", "/_security/cross_cluster/api_key"},
	{"PUT", "/_security/cross_cluster/api_key/{id}"},
}

// FuzzHandlers sends arbitrary bodies to every route that decodes one,
// through the real HTTP server of one running keyplane (per fuzzing
// process), as its owner. Whatever the body, the answer is never a 5xx
// (the server turns a panic into a 500, so this catches panics too), and
// an error is a JSON body.
func FuzzHandlers(f *testing.F) {
	a := startApp(f)
	auth := basic(ownerAuth)
	id := esDo(f, "POST", a.URL()+"/api/v1/orgs/default/api-keys", auth, `{"name":"fuzz-target"}`).Must(f, http.StatusCreated).Str("id")
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
