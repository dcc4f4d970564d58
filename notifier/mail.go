package notifier

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/mail"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
	gomail "github.com/wneessen/go-mail"
)

// sendFailure is why one recipient was not sent to; temporary failures
// (the server unreachable, 4xx answers) are retried, permanent ones (5xx:
// no such mailbox) are not.
type sendFailure struct {
	err       error
	temporary bool
}

// send emails the notice to each pending recipient over one SMTP session
// and reports, per recipient, the Message-ID accepted or the failure.
func (n *Notifier) send(ctx context.Context, st projections.NoticeState, k domain.Key) (map[string]string, map[string]sendFailure) {
	sent, failed := map[string]string{}, map[string]sendFailure{}
	pending := st.Pending()
	c := n.describe(st, k)
	var msgs []*gomail.Msg
	var to, ids []string // per message
	for _, r := range pending {
		id := domain.NoticeMessageID(st.ID, r, n.senderDomain())
		m, err := n.message(c, r, id)
		if err != nil {
			failed[r] = sendFailure{err: err} // an address the mail library refuses
			continue
		}
		msgs, to, ids = append(msgs, m), append(to, r), append(ids, id)
	}
	if len(msgs) == 0 {
		return sent, failed
	}
	client, err := n.client()
	if err == nil {
		err = client.DialAndSendWithContext(ctx, msgs...)
	}
	for i, m := range msgs {
		switch {
		case m.HasSendError():
			failed[to[i]] = sendFailure{err: m.SendError(), temporary: !permanent(m.SendError())}
		case !m.IsDelivered():
			// Never got to it: no connection, no login, or cut off.
			failed[to[i]] = sendFailure{err: cmp.Or(err, errors.New("not sent")), temporary: true}
		default:
			sent[to[i]] = ids[i]
		}
	}
	return sent, failed
}

// permanent reports a 5xx answer (no such mailbox, refused): trying again
// will not help. Anything else, 4xx or a broken connection, may pass later.
func permanent(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}

// message builds the mail to one recipient: plain text and HTML
// alternatives, a stable Message-ID, and the headers that keep
// auto-responders quiet.
func (n *Notifier) message(c content, to, messageID string) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(n.cfg.SMTP.From); err != nil {
		return nil, err
	}
	if err := m.To(to); err != nil {
		return nil, err
	}
	m.Subject(c.subject())
	m.SetMessageIDWithValue(messageID)
	m.SetDateWithValue(n.cfg.Now())
	m.SetBulk()
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	text, html, err := c.bodies()
	if err != nil {
		return nil, err
	}
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// client is a go-mail client for the configured server. Without STARTTLS
// the conversation, and any password, is plain text: meant for a relay on
// the same host or network.
func (n *Notifier) client() (*gomail.Client, error) {
	s := n.cfg.SMTP
	host, portStr, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(portStr) // checked by Validate
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(s.Timeout)}
	// Always name the policy: go-mail's default demands STARTTLS, which a
	// plain-text relay does not offer.
	policy, auth := gomail.NoTLS, gomail.SMTPAuthPlainNoEnc
	if s.StartTLS {
		policy, auth = gomail.TLSMandatory, gomail.SMTPAuthPlain
		if s.TLSConfig != nil {
			tc := s.TLSConfig.Clone()
			if tc.ServerName == "" {
				tc.ServerName = host
			}
			opts = append(opts, gomail.WithTLSConfig(tc))
		}
	}
	opts = append(opts, gomail.WithTLSPolicy(policy))
	if s.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.User), gomail.WithPassword(s.Password))
	}
	return gomail.NewClient(host, opts...)
}

// senderDomain is the right-hand side of Message-IDs: the sender's domain.
func (n *Notifier) senderDomain() string {
	if a, err := mail.ParseAddress(n.cfg.SMTP.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			return d
		}
	}
	return "keyplane.invalid"
}
