package clustertest

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps
// the Message-ID and recipients of every mail it accepts.
type mailbox struct {
	addr  string
	mu    sync.Mutex
	mails []accepted
}

type accepted struct {
	messageID string
	to        []string
}

func startMailbox(t testing.TB) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailbox{addr: ln.Addr().String()}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{m: m}, nil }))
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return m
}

// byMessageID counts accepted mails per Message-ID and recipient.
func (m *mailbox) byMessageID() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, a := range m.mails {
		for _, to := range a.to {
			out[a.messageID+" "+to]++
		}
	}
	return out
}

type smtpSession struct {
	m  *mailbox
	to []string
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, accepted{messageID: msg.Header.Get("Message-Id"), to: s.to})
	s.m.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }
