package testhttp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// exchange sends one request to the real server without the check Do
// makes, and returns what the check needs.
type exchange struct {
	req    *http.Request
	body   []byte
	status int
	header http.Header
	raw    []byte
}

func send(t *testing.T, method, url, body string, auth bool) exchange {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(testapp.Owner, testapp.Password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return exchange{req: req, body: []byte(body), status: res.StatusCode, header: res.Header, raw: raw}
}

// edited is the document with edit applied to its JSON.
func edited(t *testing.T, edit func(doc map[string]any)) *testhttp.Document {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(rest.OpenAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	raw, _ := json.Marshal(doc)
	d, err := testhttp.LoadOpenAPI(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func obj(v any, path ...string) map[string]any {
	m := v.(map[string]any)
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

// TestAnExchangeTheDocumentDoesNotDescribeIsCaught: the check Do and Call
// make passes what the document describes (and probes of what does not
// exist), and catches a field, a route or a parameter the server has and
// the document lacks.
func TestAnExchangeTheDocumentDoesNotDescribeIsCaught(t *testing.T) {
	a := testapp.Start(t)
	base := a.URL() + "/api/v1"
	created := testhttp.Do(t, "POST", base+"/orgs/default/api-keys", map[string]any{"name": "k"},
		"Authorization", testhttp.Basic(testapp.Owner+":"+testapp.Password)).Must(t, 201)
	keyURL := base + "/orgs/default/api-keys/" + created.Str("id")
	current, err := testhttp.LoadOpenAPI(rest.OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	noField := edited(t, func(d map[string]any) { delete(obj(d, "components", "schemas", "Key", "properties"), "exceeds_policy") })
	noRoute := edited(t, func(d map[string]any) { delete(obj(d, "paths"), "/api/v1/orgs/{org}/policy") })
	noParam := edited(t, func(d map[string]any) {
		op := obj(d, "paths", "/api/v1/orgs/{org}/api-keys", "get")
		var kept []any
		for _, p := range op["parameters"].([]any) {
			if !strings.HasSuffix(obj(p)["$ref"].(string), "list_status") {
				kept = append(kept, p)
			}
		}
		op["parameters"] = kept
	})
	cases := []struct {
		name    string
		doc     *testhttp.Document
		ex      exchange
		failure string // "" passes
	}{
		{"a documented answer", current, send(t, "GET", keyURL, "", true), ""},
		{"a documented list with a filter", current, send(t, "GET", base+"/orgs/default/api-keys?status=active", "", true), ""},
		{"a refused request answered 400", current, send(t, "GET", base+"/orgs/default/api-keys?status=bogus", "", true), ""},
		{"an unknown parameter answered 400", current, send(t, "GET", base+"/orgs/default/api-keys?bogus=1", "", true), ""},
		{"a probe of a route nobody serves", current, send(t, "GET", base+"/no-such-route", "", true), ""},
		{"a wrong method", current, send(t, "PATCH", base+"/orgs", "", true), ""},
		{"no credentials", current, send(t, "GET", base+"/orgs", "", false), ""},
		{"the document itself, without credentials", current, send(t, "GET", base+"/openapi.json", "", false), ""},
		{"a field the document lacks", noField, send(t, "GET", keyURL, "", true), "exceeds_policy"},
		{"a route the document lacks", noRoute, send(t, "GET", base+"/orgs/default/policy", "", true), "the route is not in the document"},
		{"a parameter the document lacks", noParam, send(t, "GET", base+"/orgs/default/api-keys?status=active", "", true), "undeclared query parameter [status]"},
		{"a body the document refuses, accepted", edited(t, func(d map[string]any) {
			obj(d, "components", "schemas", "CreateKeyRequest")["required"] = []any{"name", "type"}
		}), send(t, "POST", base+"/orgs/default/api-keys", `{"name":"x"}`, true), "the document refuses the request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.doc.Check(c.ex.req, c.ex.body, c.ex.status, c.ex.header, c.ex.raw)
			switch {
			case c.failure == "" && err != nil:
				t.Fatalf("%d %s: %v", c.ex.status, c.ex.raw, err)
			case c.failure != "" && (err == nil || !strings.Contains(err.Error(), c.failure)):
				t.Fatalf("want a failure with %q, got %v", c.failure, err)
			}
		})
	}
}

// TestTheDocumentIsServedWithoutCredentials: GET /api/v1/openapi.json
// answers the document kept in the repository, a valid OpenAPI 3.1
// document.
func TestTheDocumentIsServedWithoutCredentials(t *testing.T) {
	a := testapp.Start(t)
	r := testhttp.Do(t, "GET", a.URL()+"/api/v1/openapi.json", nil).Must(t, 200)
	if !bytes.Equal([]byte(r.Raw), rest.OpenAPIDocument) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("served %q, %d bytes", r.Header.Get("Content-Type"), len(r.Raw))
	}
	if r.Str("openapi") != "3.1.0" {
		t.Fatalf("openapi %q", r.Str("openapi"))
	}
	if _, err := testhttp.LoadOpenAPI([]byte(r.Raw)); err != nil {
		t.Fatal(err)
	}
}

// TestElasticCloudsAPIIsLeftToItsOwnReference: the check passes by Elastic
// Cloud's API keys API (its own shapes), and nothing else of /api/v1.
func TestElasticCloudsAPIIsLeftToItsOwnReference(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/users/auth/keys": false, "/api/v1/users/auth/keys/abc": false, "/api/v1/users/auth/keysx": true,
		"/api/v1/users/_password": true, "/api/v1/orgs": true, "/_security/api_key": false, "/console/session": false,
	} {
		if got := testhttp.Described(path); got != want {
			t.Errorf("Described(%q) = %v, want %v", path, got, want)
		}
	}
}
