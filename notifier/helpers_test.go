package notifier_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testlog"
	"github.com/keyplane/keyplane/internal/testsmtp"
	"github.com/keyplane/keyplane/internal/testwait"
	"github.com/keyplane/keyplane/notifier"
)

const ownerAuth = "alice:alice-password"

// t0 is the test clock's start; keys are created relative to it.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func newClock() *testclock.Clock { return testclock.New(t0) }

// env is one running keyplane with its clock and log.
type env struct {
	*app.App
	t    *testing.T
	logs *testlog.Buffer
}

// options for startApp.
type options struct {
	dir        string
	clock      *testclock.Clock // nil: the real clock
	notify     notifier.Config
	natsListen string
	natsURL    string
}

// startApp runs keyplane on loopback with the notifier configured by o.
func startApp(t *testing.T, o options) *env {
	t.Helper()
	if o.dir == "" && o.natsURL == "" {
		o.dir = t.TempDir()
	}
	logs := &testlog.Buffer{}
	var now func() time.Time
	if o.clock != nil {
		now = o.clock.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, app.Config{DataDir: o.dir, Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, NeverAllowed: true,
		NatsListen: o.natsListen, NatsURL: o.natsURL, Logger: slog.New(slog.NewTextHandler(logs, nil)), Out: io.Discard,
		Now: now, Notify: o.notify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return &env{App: a, t: t, logs: logs}
}

// smtpTo configures delivery to m with fast retries.
func smtpTo(m *testsmtp.Server) notifier.Config {
	return notifier.Config{SMTP: notifier.SMTP{Addr: m.Addr(), From: "keyplane <noreply@keyplane.example>", Timeout: 5 * time.Second},
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, MaxAttempts: 1000}
}

// call does one HTTP request as auth ("name:password") and decodes the
// answer.
func (e *env) call(auth, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	res := testhttp.Do(e.t, method, e.URL()+path, body, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(auth)))
	return res.Status, res.Body
}

func (e *env) must(status int, auth, method, path string, body any) map[string]any {
	e.t.Helper()
	got, out := e.call(auth, method, path, body)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, status, out)
	}
	return out
}

const carolAuth = "carol:carol-password"

// recipients are whom every notice in these tests goes to: carol, who
// creates the keys, and the operational contacts (carol again, in capitals,
// is one address).
var recipients = []string{"carol@example.com", "ops@example.com"}

// withCarol adds carol (an admin with an email) and the contacts.
func (e *env) withCarol() {
	e.t.Helper()
	testhttp.AddMember(e.t, e.URL(), "Basic "+base64.StdEncoding.EncodeToString([]byte(ownerAuth)), "default",
		testhttp.Member{Name: "carol", Email: "carol@example.com", Password: "carol-password", Role: "admin"})
	e.must(200, ownerAuth, "PUT", "/api/v1/orgs/default/contacts", map[string]any{"emails": []string{"ops@example.com", "CAROL@example.com"}})
}

const projectKeys = "/api/v1/orgs/default/projects/default/api-keys"

// createKey has carol create a project key expiring after exp; it returns
// the id and the secret.
func (e *env) createKey(name, exp string) (domain.KeyID, string) {
	e.t.Helper()
	out := e.must(201, carolAuth, "POST", projectKeys, map[string]any{"name": name, "expiration": exp})
	return domain.KeyID(out["id"].(string)), out["api_key"].(string)
}

// scan runs one scan at the clock's time.
func (e *env) scan(c *testclock.Clock) notifier.ScanResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.Notifier.Scan(ctx, c.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// settled waits until every recorded notice has an outcome for each of
// its recipients (or was canceled): after that nothing more is sent.
func (e *env) settled() {
	e.t.Helper()
	waitFor(e.t, "notices settled", func() bool { return e.Notices.Len() == 0 })
}

// events returns the payloads of the given type in the whole log.
func events[P domain.Payload](t *testing.T, a *app.App) []P {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	last, err := a.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []P
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	_ = a.Log.Subscribe(sctx, 1, func(ev domain.Event) error {
		if p, err := ev.Decode(); err == nil {
			if x, ok := p.(P); ok {
				out = append(out, x)
			}
		}
		if ev.Seq >= last {
			stop()
		}
		return nil
	})
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool, logs ...*testlog.Buffer) {
	t.Helper()
	if !testwait.Until(30*time.Second, cond) {
		for _, l := range logs {
			t.Log(l.String())
		}
		t.Fatalf("timed out waiting for %s", what)
	}
}
