package testsmtp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
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
)

// Mail is one mail as the server got it.
type Mail struct {
	From   string
	To     []string
	Header mail.Header
	Text   string // the decoded text/plain alternative
	HTML   string // the decoded text/html alternative
	Raw    string
}

// Server keeps what it receives. Set its options before Start.
type Server struct {
	// Auth is "user:password" when AUTH PLAIN is required; empty, none.
	Auth string
	// Reject lists recipients refused with a permanent 550.
	Reject map[string]bool
	// TLS enables STARTTLS; go-smtp then refuses AUTH before it, so a login
	// proves the conversation was encrypted.
	TLS *tls.Config

	tb   testing.TB
	addr string

	mu     sync.Mutex
	mails  []Mail
	logins []string
	srv    *smtp.Server
	ln     net.Listener
}

// New returns a server that is not yet listening.
func New(tb testing.TB) *Server {
	return &Server{tb: tb, addr: "127.0.0.1:0", Reject: map[string]bool{}}
}

// Start listens (again) on the server's address: a restart keeps the
// address the client was configured with.
func (s *Server) Start() *Server {
	s.tb.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain, srv.AllowInsecureAuth, srv.TLSConfig = "localhost", s.TLS == nil, s.TLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	s.tb.Cleanup(s.Stop)
	return s
}

// Stop closes the server; the mails it got stay readable.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Close the listener too: Serve may not have taken it over yet.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Addr is the host:port the server listens on once started.
func (s *Server) Addr() string { return s.addr }

// Mails returns a copy of the mails received so far, in arrival order.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Logins returns the user of every successful AUTH, one per session.
func (s *Server) Logins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logins...)
}

// session is one SMTP conversation.
type session struct {
	s        *Server
	from     string
	to       []string
	loggedIn bool
}

func (c *session) AuthMechanisms() []string {
	if c.s.Auth == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (c *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user+":"+pass != c.s.Auth {
			return errors.New("invalid credentials")
		}
		c.loggedIn = true
		c.s.mu.Lock()
		c.s.logins = append(c.s.logins, user)
		c.s.mu.Unlock()
		return nil
	}), nil
}

func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	if c.s.Auth != "" && !c.loggedIn {
		return smtp.ErrAuthRequired
	}
	c.from = from
	return nil
}

func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if c.s.Reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	c.to = append(c.to, to)
	return nil
}

func (c *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	got := Mail{From: c.from, To: c.to, Header: msg.Header, Raw: string(raw)}
	got.Text, got.HTML = c.s.parts(msg)
	c.s.mu.Lock()
	c.s.mails = append(c.s.mails, got)
	c.s.mu.Unlock()
	return nil
}

func (c *session) Reset()        { c.from, c.to = "", nil }
func (c *session) Logout() error { return nil }

// parts returns the decoded text/plain and text/html alternatives. Every
// mail keyplane sends has both, so one that is not multipart fails the
// test.
func (s *Server) parts(msg *mail.Message) (text, html string) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		s.tb.Errorf("mail is %q, want multipart/alternative", msg.Header.Get("Content-Type"))
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
