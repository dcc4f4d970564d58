package testhttp

import (
	"encoding/base64"
	"testing"
)

// Basic is the Authorization header value of user:password credentials.
func Basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

// ES sends a request to keyplane's Elasticsearch surface (or any JSON
// endpoint) with an Authorization header (empty: none) and a JSON body
// (nil: none).
func ES(t testing.TB, method, url, auth string, body any) Response {
	t.Helper()
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return Do(t, method, url, body, "Authorization", auth, "Content-Type", ct)
}

// Must fails the test unless the answer has status.
func (r Response) Must(t testing.TB, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// Str is the answer's top-level string field k ("" if it has none).
func (r Response) Str(k string) string { s, _ := r.Body[k].(string); return s }
