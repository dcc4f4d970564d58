package httpx

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
)

// Meta is the envelope information of events a request causes.
func Meta(w http.ResponseWriter, r *http.Request, p domain.Principal) domain.Meta {
	return domain.Meta{
		Actor:         p.Actor(),
		Source:        domain.Source{Addr: SourceAddr(r), UserAgent: truncate(r.UserAgent(), 256)},
		CorrelationID: w.Header().Get("X-Request-Id"),
	}
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// CmdCtx bounds a command so that a stuck log answers 503, not a hang.
func CmdCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 15*time.Second)
}

// SourceAddr is the request's peer address without its port.
func SourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// AuthRequest is what authn reads of a request. The session cookie is read
// only without an Authorization header, where it is the credential: this
// runs on every request.
func AuthRequest(r *http.Request) authn.Request {
	req := authn.Request{Authorization: r.Header.Get("Authorization")}
	if req.Authorization == "" {
		req, _ = sessionRequest(r)
	}
	req.Addr, req.Path, req.RunAs = SourceAddr(r), r.URL.Path, r.Header.Get(runAsHeader)
	return req
}

// runAsHeader names the user a request runs as (Elasticsearch's header).
const runAsHeader = authn.RunAsHeader

// SetKeyExpiration tells a client authenticated by an API key when the key
// expires (absent for a key that never does). Both headers share one value
// slice and are set without canonicalizing: this runs on every request.
func SetKeyExpiration(w http.ResponseWriter, p domain.Principal) {
	if p.Kind != domain.ActorKey || p.Expires.IsZero() {
		return
	}
	var buf [len(time.RFC3339) + 8]byte
	v := []string{string(p.Expires.UTC().AppendFormat(buf[:0], time.RFC3339))}
	h := w.Header()
	h["X-Api-Key-Expiration"] = v
	h["X-Elastic-Api-Key-Expiration"] = v
}

// safeMethod reports methods that change nothing and need no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SameOrigin refuses requests a browser marks as coming from another site.
// Requests without Origin or Sec-Fetch-Site (non-browser clients) pass; they
// still need the CSRF token.
func SameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// sessionRequest is what authn reads of a request's session: the cookie,
// and for a state change its origin and CSRF token. ok is false when there
// is no cookie at all.
func sessionRequest(r *http.Request) (req authn.Request, ok bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return authn.Request{}, false
	}
	req = authn.Request{Cookie: ck.Value, HasCookie: true, StateChange: !safeMethod(r.Method), Path: r.URL.Path}
	if req.StateChange {
		req.SameOrigin, req.CSRF = SameOrigin(r), r.Header.Get(authn.CSRFHeader)
	}
	return req, true
}

// SessionCookie names the console's session cookie.
const SessionCookie = "keyplane_session"
