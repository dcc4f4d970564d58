package authn

import (
	"context"

	"github.com/keyplane/keyplane/domain"
)

// Console authenticates a request of the console REST API (/api/v1): an
// API key, a member's Basic password, or else the console's session.
func (a *Authenticator) Console(ctx context.Context, r Request) (domain.Principal, error) {
	if r.RunAs != "" {
		// Refused, never ignored: ignoring it would run the request with
		// the caller's own, larger rights.
		return domain.Principal{}, domain.Forbidden("run as [%s] is only supported on the Elasticsearch API", RunAsHeader)
	}
	c := Parse(r.Authorization)
	if c.Scheme != NoCredentials || r.HasCookie {
		if err := a.fresh(); err != nil {
			return domain.Principal{}, err
		}
	}
	switch c.Scheme {
	case NoCredentials:
		if !r.HasCookie {
			return domain.Principal{}, missing(r.Path)
		}
		s, err := a.SessionOf(r)
		if err != nil {
			return domain.Principal{}, err
		}
		return a.SessionPrincipal(s)
	case APIKey:
		return a.Key(c.Value)
	case Basic:
		name, pw, err := c.BasicAuth()
		if err != nil {
			return domain.Principal{}, err
		}
		return a.memberPassword(ctx, r.Addr, name, pw)
	}
	return domain.Principal{}, unsupported(c.Name)
}

// MemberPassword checks a member's password under the throttle: the
// console's login.
func (a *Authenticator) MemberPassword(ctx context.Context, addr, name, pw string) (domain.Principal, error) {
	if err := a.fresh(); err != nil {
		return domain.Principal{}, err
	}
	return a.memberPassword(ctx, addr, name, pw)
}

func (a *Authenticator) memberPassword(ctx context.Context, addr, name, pw string) (domain.Principal, error) {
	return a.CheckPassword(ctx, MemberSubject(name), addr, func() (domain.Principal, error) { return a.logins.Authenticate(name, pw) })
}

// SessionOf checks a request's session cookie (r.HasCookie), and for a
// state change its origin and CSRF token.
func (a *Authenticator) SessionOf(r Request) (Session, error) {
	c, err := a.Session(r.Cookie)
	if err != nil {
		return Session{}, err
	}
	if r.StateChange {
		if !r.SameOrigin {
			return Session{}, domain.Forbidden("cross-origin request refused: the console accepts state changes only from its own pages")
		}
		if !a.CSRFValid(c, r.CSRF) {
			return Session{}, domain.Forbidden("missing or invalid CSRF token: a request that changes state with a console session must send the session's token in the %s header", CSRFHeader)
		}
	}
	return c, nil
}

// PasswordChange checks a member's current password for a change of it,
// under the throttle: it passes also under a forced reset.
func (a *Authenticator) PasswordChange(ctx context.Context, addr, name, pw string) (domain.Principal, error) {
	return a.CheckPassword(ctx, MemberSubject(name), addr, func() (domain.Principal, error) {
		return a.logins.AuthenticateForPasswordChange(name, pw)
	})
}
