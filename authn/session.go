package authn

// Console sessions.
//
// The session is a signed cookie, not a server-side record: its value is
// base64url(claims) "." base64url(HMAC-SHA-256(key, claims)). The key is
// derived from the log's shared secret, so any replica accepts a session
// that another one issued and no replica needs to remember a session for
// it to work. The claims carry a random session id, the member, the issue
// and expiry times, and a fingerprint of the member's password hash, so
// that a password change ends every session on every replica. Removing or
// demoting a member, or forcing its password reset, appends
// SessionsRevoked: every replica then refuses the login's sessions issued
// before it (projections.EndedSessions).
//
// A logout puts the session id's SHA-256 on this replica's revocation list
// (EndLocally) and api appends SessionEnded with SessionHash for every
// replica. The CSRF token of a session is an HMAC of its id: derived, so
// nothing is stored.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/tenants"
)

// SessionLifetime is how long a console session lasts.
const SessionLifetime = 8 * time.Hour

// Session is what a session cookie asserts.
type Session struct {
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

// newSessions derives the signing key from root (the log's shared secret,
// so that every replica derives the same key).
func newSessions(root []byte) *sessions {
	return &sessions{key: hmacSHA256(root, "keyplane console session v1"), revoked: map[[32]byte]time.Time{}}
}

func (ss *sessions) mac(label, v string) []byte { return hmacSHA256(ss.key, label, "\x00", v) }

// issue returns a new session for user and its cookie value.
func (ss *sessions) issue(user, pass string, now time.Time) (Session, string) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	c := Session{ID: b64.EncodeToString(id[:]), User: user, Issued: now.Unix(), IssuedMs: now.UnixMilli(),
		Expires: now.Add(SessionLifetime).Unix(), Pass: pass}
	return c, seal(c, ss.cookieMAC)
}

func (ss *sessions) cookieMAC(body string) []byte { return ss.mac("session", body) }

// check verifies a cookie value: signature, expiry and revocation.
func (ss *sessions) check(value string, now time.Time) (Session, bool) {
	var c Session
	if !unseal(value, ss.cookieMAC, &c) || c.ID == "" || now.Unix() >= c.Expires {
		return Session{}, false
	}
	ss.mu.Lock()
	_, gone := ss.revoked[sha256.Sum256([]byte(c.ID))]
	ss.mu.Unlock()
	return c, !gone
}

// revoke ends a session on this replica and forgets ended sessions that
// have expired anyway, so the list stays as small as the live sessions.
func (ss *sessions) revoke(c Session, now time.Time) {
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
func (ss *sessions) csrfToken(c Session) string {
	return b64.EncodeToString(ss.mac("csrf", c.ID))
}

func (ss *sessions) csrfValid(c Session, token string) bool {
	got, err := b64.DecodeString(token)
	return err == nil && token != "" && hmac.Equal(got, ss.mac("csrf", c.ID))
}

// passFingerprint ties a session to the member's current password hash.
func passFingerprint(passwordHash string) string {
	sum := sha256.Sum256([]byte("session\x00" + passwordHash))
	return b64.EncodeToString(sum[:12])
}

// IssuedAt is when a session was issued, to the millisecond where the
// cookie says so (cookies issued before IssuedMs existed, to the second).
func (c Session) IssuedAt() time.Time {
	if c.IssuedMs != 0 {
		return time.UnixMilli(c.IssuedMs)
	}
	return time.Unix(c.Issued, 0)
}

// Hash names a session in the log without its id.
func (c Session) Hash() string { return BearerHash(c.ID) }

// BearerHash is the hex SHA-256 of a bearer secret (a session id, a
// token): what the log and the ended-sessions projection know of it.
func BearerHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// IssueSession starts a console session for a member whose password was
// just checked, and returns it with its cookie value.
func (a *Authenticator) IssueSession(user string) (Session, string) {
	var hash string
	if u, ok := a.dir.User(user); ok {
		hash = u.PasswordHash
	}
	return a.sessions.issue(user, passFingerprint(hash), a.now())
}

// Session checks a cookie value against the signature, the clock, logouts
// and the member's current password.
func (a *Authenticator) Session(value string) (Session, error) {
	c, ok := a.sessions.check(value, a.now())
	if ok && a.ended != nil {
		// Logged out, or every session of the login revoked since (removed,
		// demoted, forced to reset its password), on any replica.
		ok = !a.ended.Ended(c.Hash()) && !a.ended.Revoked(c.User, c.IssuedAt())
	}
	if ok {
		u, found := a.dir.User(c.User)
		ok = found && hmac.Equal([]byte(passFingerprint(u.PasswordHash)), []byte(c.Pass))
	}
	if !ok {
		return Session{}, domain.Unauthenticated("console session is missing, expired or ended: log in again")
	}
	return c, nil
}

// SessionPrincipal is the member a live session acts for.
func (a *Authenticator) SessionPrincipal(c Session) (domain.Principal, error) {
	if u, found := a.dir.User(c.User); found && u.MustChangePassword {
		return domain.Principal{}, tenants.ErrMustChangePassword(c.User)
	}
	return a.dir.Member(c.User), nil
}

// EndLocally ends a session on this replica at once (a logout), before the
// log tells every replica.
func (a *Authenticator) EndLocally(c Session) { a.sessions.revoke(c, a.now()) }

// CSRFToken is the token a state change with session c must carry.
func (a *Authenticator) CSRFToken(c Session) string { return a.sessions.csrfToken(c) }

// CSRFValid reports whether token is session c's CSRF token.
func (a *Authenticator) CSRFValid(c Session, token string) bool {
	return a.sessions.csrfValid(c, token)
}
