package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testlog"
	"github.com/keyplane/keyplane/internal/testproc"
)

// Password guessing over real HTTP: Basic on the console API, the console's
// login and Basic on the Elasticsearch surface share one throttle.
func TestPasswordGuessingThrottled(t *testing.T) {
	clk := testclock.New(time.Now())
	base := start(t, clk.Now)
	wrong := basic(owner + ":wrong-password")
	for i := 1; i <= 6; i++ {
		if res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", wrong); res.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, res.StatusCode)
		}
	}
	right := basic(owner + ":" + password)
	locked := []struct {
		name string
		do   func() int
	}{
		{"Basic on the console API", func() int {
			res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", right)
			checkThrottled(t, res.StatusCode, res.Header.Get("Retry-After"), res.Body)
			return res.StatusCode
		}},
		{"console login", func() int {
			return testhttp.Call(t, "POST", base+"/console/login", "application/json", `{"name":"alice","password":"alice-password"}`).StatusCode
		}},
		{"Basic on the Elasticsearch surface", func() int {
			return testhttp.Call(t, "GET", base+"/_security/_authenticate", "", "", "Authorization", right).StatusCode
		}},
	}
	for _, l := range locked {
		if got := l.do(); got != 429 {
			t.Fatalf("%s with the right password while locked: %d, want 429", l.name, got)
		}
	}
	clk.Add(1100 * time.Millisecond)
	if res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", right); res.StatusCode != 200 {
		t.Fatalf("right password after the lock: %d, want 200", res.StatusCode)
	}
	// The success cleared the count: one wrong password is a plain 401 again.
	if res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", wrong); res.StatusCode != 401 {
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
		res := testhttp.Call(t, "GET", a.URL()+"/_security/_authenticate", "", "", "Authorization", huge)
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

// Two replicas on one NATS share one budget: failures spread across them
// reach the lock once in total, and the lock holds on both.
func TestReplicasShareOnePasswordBudget(t *testing.T) {
	clk := testclock.New(time.Now())
	nats := fmt.Sprint("127.0.0.1:", testproc.FreePorts(t, 1)[0])
	one := startAppIn(t, t.TempDir(), func(c *app.Config) { c.NatsListen, c.Now = nats, clk.Now })
	two := startAppIn(t, "", func(c *app.Config) { c.NatsURL, c.Now = "nats://"+nats, clk.Now })
	replicas := []string{one.URL(), two.URL()}
	wrong := basic("alice:wrong-password")
	for i := 1; i <= 6; i++ {
		if res := testhttp.Call(t, "GET", replicas[i%2]+"/api/v1/whoami", "", "", "Authorization", wrong); res.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, res.StatusCode)
		}
	}
	right := basic(ownerAuth)
	for i, base := range replicas {
		res := testhttp.Call(t, "GET", base+"/api/v1/whoami", "", "", "Authorization", right)
		if res.StatusCode != 429 {
			t.Fatalf("replica %d after 3 failures on each: %d, want 429 (one budget, not two)", i+1, res.StatusCode)
		}
		checkThrottled(t, res.StatusCode, res.Header.Get("Retry-After"), res.Body)
	}
	clk.Add(1100 * time.Millisecond)
	if res := testhttp.Call(t, "GET", two.URL()+"/api/v1/whoami", "", "", "Authorization", right); res.StatusCode != 200 {
		t.Fatalf("right password after the lock: %d, want 200", res.StatusCode)
	}
}

// twoProjectsWithJane starts keyplane with projects p1 and p2, each with
// a user jane of its own password, and returns its address.
func twoProjectsWithJane(t *testing.T, now func() time.Time) string {
	t.Helper()
	base := start(t, now)
	owner := basic(owner + ":" + password)
	for _, p := range []string{"p1", "p2"} {
		esDo(t, "POST", base+"/api/v1/orgs/default/projects", owner, `{"name": "`+p+`"}`).Must(t, 201)
		esDo(t, "PUT", base+"/projects/"+p+"/_security/role/r", owner, `{"cluster": ["monitor"]}`).Must(t, 200)
		esDo(t, "PUT", base+"/projects/"+p+"/_security/user/jane", owner, `{"password": "jane-`+p+`-password", "roles": ["r"]}`).Must(t, 200)
	}
	return base
}

func authenticateIn(t *testing.T, base, project, userpass string) int {
	t.Helper()
	return esDo(t, "GET", base+"/projects/"+project+"/_security/_authenticate", basic(userpass), nil).Status
}

// A success of a same-named user of another project does not clear the
// counts standing against the victim.
func TestASameNamedUsersSuccessDoesNotClearTheVictimsCounts(t *testing.T) {
	clk := testclock.New(time.Now())
	base := twoProjectsWithJane(t, clk.Now)
	for i := 1; i <= 5; i++ {
		if got := authenticateIn(t, base, "p1", "jane:guess"); got != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, got)
		}
	}
	if got := authenticateIn(t, base, "p2", "jane:jane-p2-password"); got != 200 {
		t.Fatalf("jane of p2: %d, want 200", got)
	}
	if got := authenticateIn(t, base, "p1", "jane:guess"); got != 401 {
		t.Fatalf("sixth wrong password: %d, want 401", got)
	}
	if got := authenticateIn(t, base, "p1", "jane:jane-p1-password"); got != 429 {
		t.Fatalf("jane of p1 after six failures, another jane's success between: %d, want 429", got)
	}
}

// Counts are per project and realm: locking jane of one project locks
// neither the jane of another project nor a member.
func TestThrottleCountsPerProjectUser(t *testing.T) {
	clk := testclock.New(time.Now())
	base := twoProjectsWithJane(t, clk.Now)
	for i := 1; i <= 6; i++ {
		if got := authenticateIn(t, base, "p1", "jane:guess"); got != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, got)
		}
	}
	wants := []struct {
		project, userpass string
		want              int
	}{
		{"p1", "jane:jane-p1-password", 429},
		{"p2", "jane:jane-p2-password", 200},
		{"p1", owner + ":" + password, 200},
	}
	for _, w := range wants {
		if got := authenticateIn(t, base, w.project, w.userpass); got != w.want {
			t.Fatalf("%s in %s: %d, want %d", strings.Split(w.userpass, ":")[0], w.project, got, w.want)
		}
	}
}

// The throttle's log lines name no user: a name field often holds a
// mistyped password.
func TestThrottledAttemptsLogNoUserName(t *testing.T) {
	var logs testlog.Buffer
	a := startAppIn(t, t.TempDir(), func(c *app.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	const typo = "Tr0ub4dor-typed-as-name"
	for i := 1; i <= 7; i++ {
		res := testhttp.Call(t, "GET", a.URL()+"/_security/_authenticate", "", "", "Authorization", basic(typo+":guess"))
		if want := map[bool]int{true: 429, false: 401}[i == 7]; res.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, res.StatusCode, want)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "authentication throttled") || strings.Contains(out, typo) {
		t.Fatalf("log:\n%.3000s", out)
	}
}

// With the log's bucket out of reach, a password is not checked at all:
// 503 with Retry-After, never a guess let through uncounted.
func TestPasswordChecksFailClosedWithoutTheBucket(t *testing.T) {
	nats := fmt.Sprint("127.0.0.1:", testproc.FreePorts(t, 1)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	host, err := app.Start(ctx, app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, NatsListen: nats,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	other := startAppIn(t, "", func(c *app.Config) { c.NatsURL = "nats://" + nats })
	if res := testhttp.Call(t, "GET", other.URL()+"/api/v1/whoami", "", "", "Authorization", basic(ownerAuth)); res.StatusCode != 200 {
		t.Fatalf("before: %d, want 200", res.StatusCode)
	}
	host.Close() // and the NATS server it embeds
	for _, pw := range []string{"wrong-password", "alice-password"} {
		res := testhttp.Call(t, "GET", other.URL()+"/api/v1/whoami", "", "", "Authorization", basic("alice:"+pw))
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("%s without the bucket: %d Retry-After %q, want 503 with Retry-After", pw, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
}
