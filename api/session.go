package api

// Console sessions.
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
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/api/console"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/tenants"
)

const (
	sessionCookie   = "keyplane_session"
	csrfHeader      = "X-CSRF-Token"
	sessionLifetime = 8 * time.Hour
	maxLoginBody    = 64 << 10
)

// sessionClaims is what a session cookie asserts.
type sessionClaims struct {
	ID     string `json:"sid"`
	User   string `json:"usr"`
	Issued int64  `json:"iat"`
	// IssuedMs is Issued in milliseconds, which a revocation of every
	// session issued before a time (SessionsRevoked) compares against.
	IssuedMs int64 `json:"iatm,omitempty"`
	Expires  int64 `json:"exp"`
	// Pass fingerprints the member's password hash (never the password).
	Pass string `json:"pwd"`
}

// sessions signs and checks session cookies and remembers logouts.
type sessions struct {
	key []byte

	mu      sync.Mutex
	revoked map[[32]byte]time.Time // SHA-256 of the session id -> its expiry
}

// newSessions derives the signing key from root (Server.secretRoot: the
// log's shared secret, so that every replica derives the same key).
func newSessions(root []byte) *sessions {
	return &sessions{key: hmacSHA256(root, "keyplane console session v1"), revoked: map[[32]byte]time.Time{}}
}

func (ss *sessions) mac(label, v string) []byte { return hmacSHA256(ss.key, label, "\x00", v) }

var b64 = base64.RawURLEncoding

// issue returns a new session for user and its cookie value.
func (ss *sessions) issue(user, pass string, now time.Time) (sessionClaims, string) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	c := sessionClaims{ID: b64.EncodeToString(id[:]), User: user, Issued: now.Unix(), IssuedMs: now.UnixMilli(),
		Expires: now.Add(sessionLifetime).Unix(), Pass: pass}
	return c, seal(c, ss.cookieMAC)
}

func (ss *sessions) cookieMAC(body string) []byte { return ss.mac("session", body) }

// check verifies a cookie value: signature, expiry and revocation.
func (ss *sessions) check(value string, now time.Time) (sessionClaims, bool) {
	var c sessionClaims
	if !unseal(value, ss.cookieMAC, &c) || c.ID == "" || now.Unix() >= c.Expires {
		return sessionClaims{}, false
	}
	ss.mu.Lock()
	_, gone := ss.revoked[sha256.Sum256([]byte(c.ID))]
	ss.mu.Unlock()
	return c, !gone
}

// revoke ends a session on this replica and forgets ended sessions that
// have expired anyway, so the list stays as small as the live sessions.
func (ss *sessions) revoke(c sessionClaims, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, exp := range ss.revoked {
		if now.After(exp) {
			delete(ss.revoked, k)
		}
	}
	ss.revoked[sha256.Sum256([]byte(c.ID))] = time.Unix(c.Expires, 0)
}

// csrfToken is the session's CSRF token: derived, so nothing is stored.
func (ss *sessions) csrfToken(c sessionClaims) string {
	return b64.EncodeToString(ss.mac("csrf", c.ID))
}

func (ss *sessions) csrfValid(c sessionClaims, token string) bool {
	got, err := b64.DecodeString(token)
	return err == nil && token != "" && hmac.Equal(got, ss.mac("csrf", c.ID))
}

// passFingerprint ties a session to the member's current password hash.
func passFingerprint(passwordHash string) string {
	sum := sha256.Sum256([]byte("session\x00" + passwordHash))
	return b64.EncodeToString(sum[:12])
}

// safeMethod reports methods that change nothing and need no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin refuses requests a browser marks as coming from another site.
// Requests without Origin or Sec-Fetch-Site (non-browser clients) pass; they
// still need the CSRF token.
func sameOrigin(r *http.Request) bool {
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

// scriptRequest reports a fetch from a page's script (Sec-Fetch-Dest:
// empty). Its 401 must not carry a Basic challenge, or the browser would
// pop up its own password dialog over the console when a session ends.
func scriptRequest(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Dest") == "empty"
}

// sessionPrincipal authenticates a request by its session cookie. ok is
// false when there is no cookie at all, so that the caller can ask for
// credentials as usual.
func (s *Server) sessionPrincipal(r *http.Request) (p domain.Principal, ok bool, err error) {
	c, ok, err := s.sessionClaimsOf(r)
	if !ok || err != nil {
		return domain.Principal{}, ok, err
	}
	if u, found := s.Dir.User(c.User); found && u.MustChangePassword {
		return domain.Principal{}, true, tenants.ErrMustChangePassword(c.User)
	}
	return domain.Principal{Kind: domain.ActorUser, User: c.User, Memberships: s.Dir.Memberships(c.User)}, true, nil
}

// sessionClaimsOf checks a request's session cookie, and for a state change
// its origin and CSRF token. ok is false when there is no cookie at all.
func (s *Server) sessionClaimsOf(r *http.Request) (c sessionClaims, ok bool, err error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return sessionClaims{}, false, nil
	}
	c, err = s.session(ck.Value)
	if err != nil {
		return sessionClaims{}, true, err
	}
	if !safeMethod(r.Method) {
		if !sameOrigin(r) {
			return sessionClaims{}, true, domain.Forbidden("cross-origin request refused: the console accepts state changes only from its own pages")
		}
		if !s.sessions.csrfValid(c, r.Header.Get(csrfHeader)) {
			return sessionClaims{}, true, domain.Forbidden("missing or invalid CSRF token: a request that changes state with a console session must send the session's token in the %s header", csrfHeader)
		}
	}
	return c, true, nil
}

// issuedAt is when a session was issued, to the millisecond where the
// cookie says so (cookies issued before IssuedMs existed, to the second).
func (c sessionClaims) issuedAt() time.Time {
	if c.IssuedMs != 0 {
		return time.UnixMilli(c.IssuedMs)
	}
	return time.Unix(c.Issued, 0)
}

// session checks a cookie value against the signature, the clock, logouts
// and the member's current password.
func (s *Server) session(value string) (sessionClaims, error) {
	c, ok := s.sessions.check(value, s.now())
	if ok && s.EndedSessions != nil {
		// Logged out, or every session of the login revoked since (removed,
		// demoted, forced to reset its password), on any replica.
		ok = !s.EndedSessions.Ended(sessionHash(c)) && !s.EndedSessions.Revoked(c.User, c.issuedAt())
	}
	if ok {
		u, found := s.Dir.User(c.User)
		ok = found && hmac.Equal([]byte(passFingerprint(u.PasswordHash)), []byte(c.Pass))
	}
	if !ok {
		return sessionClaims{}, domain.Unauthenticated("console session is missing, expired or ended: log in again")
	}
	return c, nil
}

// consoleRoutes mounts the web console: its files and its session endpoints.
func (s *Server) consoleRoutes() {
	files := console.Handler("/console/")
	s.mux.Handle("GET /console/", s.browserOnly(files.ServeHTTP))
	s.mux.HandleFunc("POST /console/login", s.browserOnly(s.consoleLogin))
	s.mux.HandleFunc("POST /console/logout", s.browserOnly(s.consoleLogout))
	s.mux.HandleFunc("GET /console/session", s.browserOnly(s.consoleSession))
}

// browserOnly refuses API keys on console routes: keys are for programs.
func (s *Server) browserOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if strings.EqualFold(scheme, "ApiKey") {
			s.writeError(w, r, domain.Forbidden("API keys are for programmatic access, not a browser: log in to the console with your member name and password"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// sessionView is what the console's script learns about its session.
type sessionView struct {
	User      string `json:"user"`
	CSRFToken string `json:"csrf_token"`
	Expires   int64  `json:"expires"`
}

func (s *Server) sessionView(c sessionClaims) sessionView {
	return sessionView{User: c.User, CSRFToken: s.sessions.csrfToken(c), Expires: c.Expires * 1000}
}

// consoleLogin checks a member's name and password (JSON or a form) and
// sets the session cookie. A form post is answered with a redirect, so the
// login works without the script too.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	form := isForm(r)
	if !sameOrigin(r) {
		s.writeError(w, r, domain.Forbidden("cross-origin login refused"))
		return
	}
	name, pw, err := readLogin(w, r, form)
	var p domain.Principal
	if err == nil {
		p, err = s.checkPassword(r, memberSubject(name), func() (domain.Principal, error) { return s.Logins.Authenticate(name, pw) })
	}
	if err != nil {
		if form && domain.KindOf(err) == domain.KindUnauthenticated {
			http.Redirect(w, r, "/console/#/login?failed=1", http.StatusSeeOther)
			return
		}
		s.writeError(w, r, err)
		return
	}
	u, _ := s.Dir.User(p.User)
	c, value := s.sessions.issue(p.User, passFingerprint(u.PasswordHash), s.now())
	http.SetCookie(w, s.sessionCookie(r, value, int(sessionLifetime/time.Second)))
	s.log.Info("console login", "user", p.User, "request_id", w.Header().Get("X-Request-Id"))
	if form {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionView(c))
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
	} else if err := decodeBody(r, &req, false); err != nil {
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
	ck, err := r.Cookie(sessionCookie)
	if err == nil {
		if c, err := s.session(ck.Value); err == nil {
			if !sameOrigin(r) || !s.sessions.csrfValid(c, r.Header.Get(csrfHeader)) {
				s.writeError(w, r, domain.Forbidden("missing or invalid CSRF token: logout must send the session's token in the %s header", csrfHeader))
				return
			}
			s.sessions.revoke(c, s.now())
			http.SetCookie(w, s.sessionCookie(r, "", -1))
			if err := s.endSession(w, r, c); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.log.Info("console logout", "user", c.User, "request_id", w.Header().Get("X-Request-Id"))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	http.SetCookie(w, s.sessionCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
}

// endSession records the logout in the log for every replica. This replica
// and this browser are done with the session already; if the log cannot
// take it, the answer says so (503) rather than claim a logout that another
// replica would not know of.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, c sessionClaims) error {
	if s.Tenants == nil {
		return nil
	}
	ctx, cancel := cmdCtx(r)
	defer cancel()
	p := domain.Principal{Kind: domain.ActorUser, User: c.User}
	_, err := s.Tenants.EndSession(ctx, s.meta(w, r, p), domain.SessionConsole, sessionHash(c), c.User, time.Unix(c.Expires, 0))
	return err
}

// sessionHash names a session in the log without its id.
func sessionHash(c sessionClaims) string { return bearerHash(c.ID) }

// bearerHash is the hex SHA-256 of a bearer secret (a session id, a token):
// what the log and the ended-sessions projection know of it.
func bearerHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// consoleSession tells the page who is logged in and its CSRF token; the
// same-origin policy keeps other sites from reading it.
func (s *Server) consoleSession(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		s.writeError(w, r, domain.Unauthenticated("not logged in to the console"))
		return
	}
	c, err := s.session(ck.Value)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionView(c))
}

// sessionCookie builds the cookie; maxAge < 0 deletes it.
func (s *Server) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}
