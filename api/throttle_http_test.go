package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testlog"
)

// Password guessing over real HTTP: Basic on the console API, the console's
// login and Basic on the Elasticsearch surface share one throttle.
func TestPasswordGuessingThrottled(t *testing.T) {
	clk := &clock{t: time.Now()}
	base := start(t, clk.Now)
	wrong := basic(owner + ":wrong-password")
	for i := 1; i <= 6; i++ {
		if res := call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", wrong); res.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, res.StatusCode)
		}
	}
	right := basic(owner + ":" + password)
	locked := []struct {
		name string
		do   func() int
	}{
		{"Basic on the console API", func() int {
			res := call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", right)
			checkThrottled(t, res.StatusCode, res.Header.Get("Retry-After"), res.Body)
			return res.StatusCode
		}},
		{"console login", func() int {
			return call(t, "POST", base+"/console/login", "application/json", `{"name":"alice","password":"alice-password"}`).StatusCode
		}},
		{"Basic on the Elasticsearch surface", func() int {
			return call(t, "GET", base+"/_security/_authenticate", "", "", "Authorization", right).StatusCode
		}},
	}
	for _, l := range locked {
		if got := l.do(); got != 429 {
			t.Fatalf("%s with the right password while locked: %d, want 429", l.name, got)
		}
	}
	clk.Add(1100 * time.Millisecond)
	if res := call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", right); res.StatusCode != 200 {
		t.Fatalf("right password after the lock: %d, want 200", res.StatusCode)
	}
	// The success cleared the count: one wrong password is a plain 401 again.
	if res := call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", wrong); res.StatusCode != 401 {
		t.Fatalf("wrong password after a success: %d, want 401", res.StatusCode)
	}
}

func checkThrottled(t *testing.T, status int, retryAfter string, body io.Reader) {
	t.Helper()
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
		Status int `json:"status"`
	}
	if err := json.NewDecoder(body).Decode(&e); err != nil {
		t.Fatalf("throttled answer is not JSON: %v", err)
	}
	if status != 429 || e.Status != 429 || e.Error.Type != "too_many_requests_exception" || e.Error.Reason == "" || retryAfter != "1" {
		t.Fatalf("throttled answer: %d %+v Retry-After %q", status, e, retryAfter)
	}
}

// A throttled attempt is logged, but a user name no login can have is not
// copied into the log: a Basic header can make it a megabyte long.
func TestThrottledAttemptsLogNoHugeName(t *testing.T) {
	var logs testlog.Buffer
	a := startAppIn(t, t.TempDir(), func(c *app.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	huge := basic(strings.Repeat("x", 64<<10) + ":guess")
	throttled := false
	for i := 0; i < 20 && !throttled; i++ {
		res := call(t, "GET", a.URL()+"/_security/_authenticate", "", "", "Authorization", huge)
		throttled = res.StatusCode == 429
	}
	if !throttled {
		t.Fatal("20 wrong guesses with one name were never throttled")
	}
	out := logs.String()
	if !strings.Contains(out, "authentication throttled") {
		t.Fatalf("no throttle warning in the log:\n%.2000s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 1000 {
			t.Fatalf("a log line of %d bytes: %.300s...", len(line), line)
		}
	}
}
