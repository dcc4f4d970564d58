package web_test

// The console's session endpoints over real HTTP against a real keyplane.

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
)

const owner, password = testapp.Owner, testapp.Password

func start(t *testing.T, now func() time.Time) string {
	t.Helper()
	return testapp.Start(t, func(c *app.Config) { c.Now = now }).URL()
}

type session struct {
	cookie string
	token  string
}

func login(t *testing.T, base string) session {
	t.Helper()
	res := testhttp.Call(t, "POST", base+"/console/login", "application/json", `{"name":"alice","password":"alice-password"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	var v struct {
		User      string `json:"user"`
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || v.User != owner || v.CSRFToken == "" {
		t.Fatalf("login answered %+v, %v", v, err)
	}
	return session{cookie: "keyplane_session=" + testhttp.SessionCookie(t, res).Value, token: v.CSRFToken}
}

func TestLogin(t *testing.T) {
	base := start(t, nil)
	form := url.Values{"name": {owner}, "password": {password}}.Encode()
	tests := []struct {
		name        string
		contentType string
		body        string
		header      []string
		status      int
		location    string
	}{
		{"json", "application/json", `{"name":"alice","password":"alice-password"}`, nil, 200, ""},
		{"form", "application/x-www-form-urlencoded", form, nil, 303, "/console/"},
		{"wrong password", "application/json", `{"name":"alice","password":"nope-nope"}`, nil, 401, ""},
		{"unknown member", "application/json", `{"name":"mallory","password":"alice-password"}`, nil, 401, ""},
		{"wrong password in a form", "application/x-www-form-urlencoded", "name=alice&password=nope", nil, 303, "/console/#/login?failed=1"},
		{"no password", "application/json", `{"name":"alice"}`, nil, 400, ""},
		{"unknown field", "application/json", `{"name":"alice","password":"alice-password","admin":true}`, nil, 400, ""},
		{"not json", "application/json", `name=alice`, nil, 400, ""},
		{"empty", "application/json", ``, nil, 400, ""},
		{"huge form", "application/x-www-form-urlencoded", "name=" + strings.Repeat("a", 100<<10), nil, 400, ""},
		{"from another site", "application/json", `{"name":"alice","password":"alice-password"}`, []string{"Origin", "http://evil.example"}, 403, ""},
		{"with an API key", "application/json", `{"name":"alice","password":"alice-password"}`, []string{"Authorization", "ApiKey abc"}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := testhttp.Call(t, "POST", base+"/console/login", tt.contentType, tt.body, tt.header...)
			if res.StatusCode != tt.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, b)
			}
			if tt.location != "" && res.Header.Get("Location") != tt.location {
				t.Fatalf("Location %q, want %q", res.Header.Get("Location"), tt.location)
			}
			set := res.Header.Get("Set-Cookie")
			if ok := tt.status == 200 || tt.location == "/console/"; ok != (set != "") {
				t.Fatalf("Set-Cookie %q on a %d", set, res.StatusCode)
			}
			if set != "" {
				c := testhttp.SessionCookie(t, res)
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge <= 0 {
					t.Fatalf("cookie attributes: %s", set)
				}
			}
		})
	}
}

func TestSessionAuthenticatesTheAPI(t *testing.T) {
	base := start(t, nil)
	s := login(t, base)
	keys := base + "/api/v1/orgs/default/api-keys"
	tests := []struct {
		name   string
		method string
		url    string
		header []string
		status int
	}{
		{"read without a token", "GET", base + "/api/v1/whoami", []string{"Cookie", s.cookie}, 200},
		{"write with the token", "POST", keys, []string{"Cookie", s.cookie, "X-CSRF-Token", s.token}, 201},
		{"write without the token", "POST", keys, []string{"Cookie", s.cookie}, 403},
		{"write with another token", "POST", keys, []string{"Cookie", s.cookie, "X-CSRF-Token", "x" + s.token}, 403},
		{"write from another origin", "POST", keys, []string{"Cookie", s.cookie, "X-CSRF-Token", s.token, "Origin", "http://evil.example"}, 403},
		{"a forged cookie", "GET", base + "/api/v1/whoami", []string{"Cookie", "keyplane_session=eyJ9.AAAA"}, 401},
		{"Basic wins over the cookie", "GET", base + "/api/v1/whoami", []string{"Cookie", "keyplane_session=junk",
			"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(owner+":"+password))}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "POST" {
				body = `{"name":"by-session"}`
			}
			res := testhttp.Call(t, tt.method, tt.url, "application/json", body, tt.header...)
			if res.StatusCode != tt.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, b)
			}
		})
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	base := start(t, nil)
	s := login(t, base)
	if res := testhttp.Call(t, "POST", base+"/console/logout", "", "", "Cookie", s.cookie); res.StatusCode != 403 {
		t.Fatalf("logout without the token: %d, want 403", res.StatusCode)
	}
	res := testhttp.Call(t, "POST", base+"/console/logout", "", "", "Cookie", s.cookie, "X-CSRF-Token", s.token)
	if res.StatusCode != 204 || testhttp.SessionCookie(t, res).MaxAge >= 0 {
		t.Fatalf("logout: %d %v", res.StatusCode, res.Header["Set-Cookie"])
	}
	for _, path := range []string{"/console/session", "/api/v1/whoami"} {
		if res := testhttp.Call(t, "GET", base+path, "", "", "Cookie", s.cookie); res.StatusCode != 401 {
			t.Fatalf("GET %s after logout: %d, want 401", path, res.StatusCode)
		}
	}
	if res := testhttp.Call(t, "POST", base+"/console/logout", "", ""); res.StatusCode != 204 {
		t.Fatalf("logout without a session: %d, want 204", res.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	clk := testclock.New(time.Now())
	base := start(t, clk.Now)
	s := login(t, base)
	clk.Add(8*time.Hour - time.Minute)
	if res := testhttp.Call(t, "GET", base+"/console/session", "", "", "Cookie", s.cookie); res.StatusCode != 200 {
		t.Fatalf("before expiry: %d", res.StatusCode)
	}
	clk.Add(time.Minute)
	res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Cookie", s.cookie, "Sec-Fetch-Dest", "empty")
	if res.StatusCode != 401 {
		t.Fatalf("after expiry: %d, want 401", res.StatusCode)
	}
	// A page's fetch gets no Basic challenge, so no browser password
	// dialog pops up over the console; other clients still get one.
	if h := res.Header.Get("WWW-Authenticate"); h != "" {
		t.Fatalf("a script's 401 carries WWW-Authenticate %q", h)
	}
	if h := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "").Header.Get("WWW-Authenticate"); !strings.Contains(h, "Basic") {
		t.Fatalf("a plain client's 401 has WWW-Authenticate %q", h)
	}
}

func TestConsoleFiles(t *testing.T) {
	base := start(t, nil)
	tests := []struct {
		path        string
		header      []string
		status      int
		contentType string
	}{
		{"/console/", nil, 200, "text/html"},
		{"/console/js/main.js", nil, 200, "text/javascript"},
		{"/console/console.css", nil, 200, "text/css"},
		{"/console/js/", nil, 404, ""},
		{"/console/nothing.js", nil, 404, ""},
		{"/console/../go.mod", nil, 404, ""},
		{"/console/", []string{"Authorization", "ApiKey abc"}, 403, "application/json"},
		{"/console/session", nil, 401, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := testhttp.Call(t, "GET", base+tt.path, "", "", tt.header...)
			if res.StatusCode != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, res.Header.Get("Content-Type"), tt.status, tt.contentType)
			}
			if tt.status == 200 && !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Fatalf("no CSP on %s", tt.path)
			}
		})
	}
	if res := testhttp.Call(t, "GET", base+"/console", "", ""); res.StatusCode/100 != 3 || res.Header.Get("Location") != "/console/" {
		t.Fatalf("/console answered %d to %q, want a redirect to /console/", res.StatusCode, res.Header.Get("Location"))
	}
	res := testhttp.Call(t, "GET", base+"/console/", "", "")
	if again := testhttp.Call(t, "GET", base+"/console/", "", "", "If-None-Match", res.Header.Get("ETag")); again.StatusCode != 304 {
		t.Fatalf("revalidation answered %d, want 304", again.StatusCode)
	}
}
