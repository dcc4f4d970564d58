package httpx

import (
	"net/http"

	"github.com/keyplane/keyplane/authn"
)

// SessionClaims checks a request's session cookie, and for a state change
// its origin and CSRF token. ok is false when there is no cookie at all.
func SessionClaims(a *authn.Authenticator, r *http.Request) (c authn.Session, ok bool, err error) {
	req, ok := sessionRequest(r)
	if !ok {
		return authn.Session{}, false, nil
	}
	c, err = a.SessionOf(req)
	return c, true, err
}

// SessionView is what the console's script learns about its session.
type SessionView struct {
	User      string `json:"user"`
	CSRFToken string `json:"csrf_token"`
	Expires   int64  `json:"expires"`
}

// NewSessionCookie builds the session cookie; maxAge < 0 deletes it.
func NewSessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// ViewSession is a session as the console's script learns it.
func ViewSession(a *authn.Authenticator, c authn.Session) SessionView {
	return SessionView{User: c.User, CSRFToken: a.CSRFToken(c), Expires: c.Expires * 1000}
}
