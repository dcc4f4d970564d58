package notifier_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/notifier"
)

const ownerAuth = "alice:alice-password"

// t0 is the test clock's start; keys are created relative to it.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// clock is a settable clock shared by the app and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// received is one mail as the SMTP server got it.
type received struct {
	From   string
	To     []string
	Header mail.Header
	Text   string
	HTML   string
	Raw    string
}

// mailServer is a real SMTP server (emersion/go-smtp) on loopback that
// keeps what it receives. It can be stopped and started again on the same
// address, to play a mail server that is down.
type mailServer struct {
	t    *testing.T
	addr string
	// user:password when AUTH is required; reject refuses these recipients
	// with a permanent error.
	auth   string
	reject map[string]bool
	tls    *tls.Config

	mu     sync.Mutex
	mails  []received
	authed []string
	srv    *smtp.Server
	ln     net.Listener
}

func newMailServer(t *testing.T) *mailServer {
	return &mailServer{t: t, addr: "127.0.0.1:0", reject: map[string]bool{}}
}

// start listens (again) on the server's address.
func (m *mailServer) start() *mailServer {
	m.t.Helper()
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{m: m}, nil }))
	s.Domain, s.AllowInsecureAuth, s.TLSConfig = "localhost", m.tls == nil, m.tls
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	m.mu.Lock()
	m.srv, m.ln = s, ln
	m.mu.Unlock()
	go func() { _ = s.Serve(ln) }()
	m.t.Cleanup(m.stop)
	return m
}

func (m *mailServer) stop() {
	m.mu.Lock()
	s, ln := m.srv, m.ln
	m.srv, m.ln = nil, nil
	m.mu.Unlock()
	if s != nil {
		// Close the listener too: Serve may not have taken it over yet.
		_ = ln.Close()
		_ = s.Close()
	}
}

func (m *mailServer) received() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.mails...)
}

// session is one SMTP conversation.
type session struct {
	m        *mailServer
	from     string
	to       []string
	loggedIn bool
}

func (s *session) AuthMechanisms() []string {
	if s.m.auth == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user+":"+pass != s.m.auth {
			return errors.New("invalid credentials")
		}
		s.loggedIn = true
		s.m.mu.Lock()
		s.m.authed = append(s.m.authed, user)
		s.m.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.auth != "" && !s.loggedIn {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.m.reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	got := received{From: s.from, To: s.to, Raw: string(raw)}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	got.Header = msg.Header
	got.Text, got.HTML = parts(s.m.t, msg)
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, got)
	s.m.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// parts returns the decoded text/plain and text/html alternatives.
func parts(t *testing.T, msg *mail.Message) (text, html string) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Errorf("mail is %q, want multipart/alternative", msg.Header.Get("Content-Type"))
		return "", ""
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err != nil {
			return text, html
		}
		body, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(body)
		case "text/html":
			html = string(body)
		}
	}
}

// logBuffer collects the app's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is one running keyplane with its clock and log.
type env struct {
	*app.App
	t    *testing.T
	logs *logBuffer
}

// options for startApp.
type options struct {
	dir        string
	clock      *clock // nil: the real clock
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
	logs := &logBuffer{}
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
func smtpTo(m *mailServer) notifier.Config {
	return notifier.Config{SMTP: notifier.SMTP{Addr: m.addr, From: "keyplane <noreply@keyplane.example>", Timeout: 5 * time.Second},
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
	e.must(201, ownerAuth, "POST", "/api/v1/orgs/default/members",
		map[string]any{"name": "carol", "email": "carol@example.com", "password": "carol-password", "role": "admin"})
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
func (e *env) scan(c *clock) notifier.ScanResult {
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
func waitFor(t *testing.T, what string, cond func() bool, logs ...*logBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, l := range logs {
				t.Log(l.String())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
