// Package testhttp sends requests to a running keyplane over real HTTP for
// the end-to-end tests of several packages (app, api, api/console), so that
// each keeps only its own vocabulary (a client with a credential, an
// Elasticsearch answer) and not a copy of the plumbing.
package testhttp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Response is one answer: status, headers, the raw body and, when the body
// is a JSON object, its fields.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Do sends method to url with body (nil: none; a string: as is; anything
// else: as JSON) and the given header name/value pairs, and reads the whole
// answer. A transport failure fails the test, and so does an exchange with
// the console REST API that its OpenAPI document does not describe
// (openapi.go).
func Do(t testing.TB, method, url string, body any, header ...string) Response {
	t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		sent = j
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, raw := exchange(t, http.DefaultClient, req, sent)
	out := Response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// Member is a login to add to an organization through the invitation flow.
type Member struct {
	Name, Password, Role string
	// Email is where the invitation goes and the new login's email;
	// empty: name@example.com.
	Email string
}

// AddMember invites m to org as auth (an Authorization header value) and
// accepts the invitation without credentials, creating m's own login, as
// an invitee does. Any other answer than success fails the test.
func AddMember(t testing.TB, baseURL, auth, org string, m Member) {
	t.Helper()
	if m.Email == "" {
		m.Email = m.Name + "@example.com"
	}
	inv := Do(t, "POST", baseURL+"/api/v1/orgs/"+org+"/invitations", map[string]any{"email": m.Email, "role": m.Role},
		"Authorization", auth, "Content-Type", "application/json")
	token, _ := inv.Body["token"].(string)
	if inv.Status != http.StatusCreated || token == "" {
		t.Fatalf("inviting %s to %s: status %d: %s", m.Name, org, inv.Status, inv.Raw)
	}
	acc := Do(t, "POST", baseURL+"/api/v1/invitations/_accept",
		map[string]any{"token": token, "name": m.Name, "password": m.Password, "email": m.Email}, "Content-Type", "application/json")
	if acc.Status != http.StatusOK {
		t.Fatalf("%s accepting the invitation to %s: status %d: %s", m.Name, org, acc.Status, acc.Raw)
	}
}

// exchange sends req (whose body is sent) with client, reads the answer
// whole and checks the exchange against the OpenAPI document (openapi.go).
// A transport failure fails the test.
func exchange(t testing.TB, client *http.Client, req *http.Request, sent []byte) (*http.Response, []byte) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkOpenAPI(t, req, sent, res.StatusCode, res.Header, raw)
	return res, raw
}
