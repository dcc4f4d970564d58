package testhttp

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Call sends one request without following redirects (a console login by
// form answers one), with the given header name/value pairs; the answer's
// body is read whole (and checked against the OpenAPI document for
// /api/v1, as Do does). A transport failure fails the test.
func Call(t testing.TB, method, u, contentType, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, raw := exchange(t, noRedirect, req, []byte(body))
	res.Body = io.NopCloser(bytes.NewReader(raw))
	return res
}

// SessionCookie is the console's session cookie an answer sets; an answer
// without one fails the test.
func SessionCookie(t testing.TB, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "keyplane_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %d %v", res.StatusCode, res.Header)
	return nil
}
