package web

// Console sessions: their HTTP side. authn signs and checks the cookies
// and their CSRF tokens; this file reads and writes them.
//
// A browser logs in once with a member's name and password and then carries
// a session cookie; API keys are refused for the console ("API keys are for
// programmatic access, not a browser", as the seeds say).
//
// The session is a signed cookie, not a server-side record: its value is
// base64url(claims) "." base64url(HMAC-SHA-256(key, claims)). The key is
// derived from the log's shared secret, which every replica reads from the
// same JetStream bucket, so any replica behind a load balancer accepts a
// session that another one issued and no replica needs to remember a session
// for it to work. The claims carry a random session id, the member, the
// issue and expiry times, and a fingerprint of the member's password hash, so
// that a password change ends every session on every replica. Memberships
// are read from the directory on each request, so a removed member loses
// access at once. Removing or demoting a member, or forcing its password
// reset, also appends SessionsRevoked: every replica then refuses the
// login's sessions issued before it (projections.EndedSessions), whatever
// organization they were used for.
//
// Logout clears the cookie, puts the session id's SHA-256 on this replica's
// revocation list, and appends a SessionEnded event with that hash to the
// log, so that every replica refuses a copy of the cookie from then on
// (projections.EndedSessions), until the session would have expired. The
// local list keeps the logout effective on this replica even when the log
// cannot take the event (the logout is then answered 503).
//
// CSRF: every state change authenticated by the cookie must carry the
// session's token (an HMAC of the session id) in X-CSRF-Token, and must not
// come from another origin (Origin, Sec-Fetch-Site). SameSite=Strict already
// keeps the cookie off cross-site requests; the token is the second lock.

import (
	"mime"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/api/console"
	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
)

const (
	csrfHeader   = authn.CSRFHeader
	maxLoginBody = 64 << 10
)

// Mount adds the web console to mux: its files and its session endpoints.
func (s *Server) Mount(mux *http.ServeMux) {
	files := console.Handler("/console/")
	mux.Handle("GET /console/", s.browserOnly(files.ServeHTTP))
	mux.HandleFunc("POST /console/login", s.browserOnly(s.consoleLogin))
	mux.HandleFunc("POST /console/logout", s.browserOnly(s.consoleLogout))
	mux.HandleFunc("GET /console/session", s.browserOnly(s.consoleSession))
}

// browserOnly refuses API keys on console routes: keys are for programs.
func (s *Server) browserOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if authn.Parse(r.Header.Get("Authorization")).Scheme == authn.APIKey {
			s.writeError(w, r, domain.Forbidden("API keys are for programmatic access, not a browser: log in to the console with your member name and password"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// consoleLogin checks a member's name and password (JSON or a form) and
// sets the session cookie. A form post is answered with a redirect, so the
// login works without the script too.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	form := isForm(r)
	if !httpx.SameOrigin(r) {
		s.writeError(w, r, domain.Forbidden("cross-origin login refused"))
		return
	}
	name, pw, err := readLogin(w, r, form)
	var p domain.Principal
	if err == nil {
		p, err = s.authn.MemberPassword(r.Context(), httpx.SourceAddr(r), name, pw)
	}
	if err != nil {
		if form && domain.KindOf(err) == domain.KindUnauthenticated {
			http.Redirect(w, r, "/console/#/login?failed=1", http.StatusSeeOther)
			return
		}
		s.writeError(w, r, err)
		return
	}
	c, value := s.authn.IssueSession(p.User)
	http.SetCookie(w, httpx.NewSessionCookie(r, value, int(authn.SessionLifetime/time.Second)))
	s.log.Info("console login", "user", p.User, "request_id", w.Header().Get("X-Request-Id"))
	if form {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.ViewSession(s.authn, c))
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// readLogin reads name and password from a JSON body or a form.
func readLogin(w http.ResponseWriter, r *http.Request, form bool) (string, string, error) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
		if err := r.ParseForm(); err != nil {
			return "", "", domain.Invalid("could not read the login form")
		}
		req.Name, req.Password = r.PostForm.Get("name"), r.PostForm.Get("password")
	} else if err := httpx.DecodeBody(r, &req, false); err != nil {
		return "", "", err
	}
	if req.Name == "" || req.Password == "" {
		return "", "", domain.Invalid("member name and password are required")
	}
	return req.Name, req.Password, nil
}

// consoleLogout ends the session. Without a valid session it only clears
// the cookie; with one it needs the CSRF token like every state change.
func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(httpx.SessionCookie)
	if err == nil {
		if c, err := s.authn.Session(ck.Value); err == nil {
			if !httpx.SameOrigin(r) || !s.authn.CSRFValid(c, r.Header.Get(csrfHeader)) {
				s.writeError(w, r, domain.Forbidden("missing or invalid CSRF token: logout must send the session's token in the %s header", csrfHeader))
				return
			}
			s.authn.EndLocally(c)
			http.SetCookie(w, httpx.NewSessionCookie(r, "", -1))
			if err := s.endSession(w, r, c); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.log.Info("console logout", "user", c.User, "request_id", w.Header().Get("X-Request-Id"))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	http.SetCookie(w, httpx.NewSessionCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
}

// endSession records the logout in the log for every replica. This replica
// and this browser are done with the session already; if the log cannot
// take it, the answer says so (503) rather than claim a logout that another
// replica would not know of.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, c authn.Session) error {
	if s.tenants == nil {
		return nil
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	p := domain.Principal{Kind: domain.ActorUser, User: c.User}
	_, err := s.tenants.EndSession(ctx, httpx.Meta(w, r, p), domain.SessionConsole, c.Hash(), c.User, time.Unix(c.Expires, 0))
	return err
}

// consoleSession tells the page who is logged in and its CSRF token; the
// same-origin policy keeps other sites from reading it.
func (s *Server) consoleSession(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(httpx.SessionCookie)
	if err != nil {
		s.writeError(w, r, domain.Unauthenticated("not logged in to the console"))
		return
	}
	c, err := s.authn.Session(ck.Value)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.ViewSession(s.authn, c))
}
