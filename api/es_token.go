package api

import (
	"crypto/hmac"
	"net/http"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// esTokenLifetime is how long an OAuth2 access token lives, Elasticsearch's
// default.
const esTokenLifetime = 20 * time.Minute

// esToken is what an access token says. Tokens are signed, not stored: any
// replica verifies them with the secret every replica shares, and nothing
// secret enters the log. Invalidating one writes its SHA-256 to the log
// (SessionEnded), which every replica then refuses until the token would
// have expired anyway.
type esToken struct {
	ID      string           `json:"i,omitempty"` // random: two tokens are never equal
	Tenant  domain.TenantID  `json:"t"`
	Project domain.ProjectID `json:"p"`
	User    string           `json:"u"`
	Realm   string           `json:"r,omitempty"`
	Expires int64            `json:"e"` // Unix seconds
	// Since is the project user's RealmUser.Since when the token was
	// made: a token of a deleted user never acts for a new user of the
	// same name.
	Since uint64 `json:"s,omitempty"`
	// Pass fingerprints the user's password hash when the token was made
	// (as a console session's does): a password change or a forced reset
	// ends the tokens of the old password.
	Pass string `json:"f,omitempty"`
}

// tokenSince is when the account a token names began: a project user's
// creation, or a member's current membership.
func (s *Server) tokenSince(o *domain.Org, pr *domain.Project, user, realm string) (uint64, bool) {
	if realm == domain.RealmProject {
		return s.Realms.UserSince(o.ID, pr.ID, user)
	}
	return s.Dir.MemberSince(o.ID, user)
}

// tokenPass is the fingerprint of the password hash a token's user has
// now (Pass).
func (s *Server) tokenPass(o *domain.Org, pr *domain.Project, user, realm string) string {
	if realm == domain.RealmProject {
		u, _ := s.Realms.User(o.ID, pr.ID, user)
		return passFingerprint(u.PasswordHash)
	}
	u, _ := s.Dir.User(user)
	if u == nil {
		return passFingerprint("")
	}
	return passFingerprint(u.PasswordHash)
}

// tokenClaims are what ties a token to its user's account and password.
func (s *Server) tokenClaims(t *esToken, o *domain.Org, pr *domain.Project) {
	t.Since, _ = s.tokenSince(o, pr, t.User, t.Realm)
	t.Pass = s.tokenPass(o, pr, t.User, t.Realm)
}

// tokenUser is the principal a live token acts for, if its user is still
// the one it was issued to.
func (s *Server) tokenUser(o *domain.Org, pr *domain.Project, t esToken) (domain.Principal, bool) {
	if t.Tenant != o.ID || t.Project != pr.ID {
		return domain.Principal{}, false
	}
	if since, ok := s.tokenSince(o, pr, t.User, t.Realm); !ok || since != t.Since {
		return domain.Principal{}, false
	}
	if !hmac.Equal([]byte(s.tokenPass(o, pr, t.User, t.Realm)), []byte(t.Pass)) {
		return domain.Principal{}, false
	}
	return s.esUser(o, pr, t.User, t.Realm)
}

const esTokenPrefix = "kpt1."

// tokenKeyOf derives the signing key of access tokens from the shared
// secret, so that it is never the secret of idempotent creates itself.
// Handler derives it once, not on every Bearer request.
func tokenKeyOf(secret []byte) []byte { return hmacSHA256(secret, "keyplane es oauth2 token v1") }

func (s *Server) signToken(t esToken) string {
	return esTokenPrefix + seal(t, s.tokenMAC)
}

// tokenMAC signs and checks the claims of access tokens (sealed.go).
func (s *Server) tokenMAC(body string) []byte { return hmacSHA256(s.tokenKey, body) }

// readToken verifies a token's signature and lifetime, and that it was not
// invalidated.
func (s *Server) readToken(tok string) (esToken, error) {
	t, ok := s.parseToken(tok)
	if !ok {
		return t, domain.Unauthenticated("token malformed or expired")
	}
	return t, s.tokenLive(tok, t)
}

// parseToken reads a token of ours: its signature checked, its lifetime
// not.
func (s *Server) parseToken(tok string) (esToken, bool) {
	var t esToken
	rest, ok := strings.CutPrefix(tok, esTokenPrefix)
	return t, ok && len(tok) <= maxSealed && unseal(rest, s.tokenMAC, &t)
}

// tokenLive says why a token of ours, parsed, can no longer be used: it
// expired or was invalidated.
func (s *Server) tokenLive(tok string, t esToken) error {
	if s.now().Unix() >= t.Expires {
		return domain.Unauthenticated("token malformed or expired")
	}
	if s.EndedSessions != nil && s.EndedSessions.Ended(bearerHash(tok)) {
		return domain.Unauthenticated("token has been invalidated")
	}
	return nil
}

// esInvalidateToken ends an access token before its expiry, on every
// replica. Tokens are not stored, so they are invalidated one by one, by
// value; a member may end their own, and manage_token ends anybody's in
// the project. A token of another project is not found (404), as for keys.
func (s *Server) esInvalidateToken(x *esReq) error {
	var req struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
		RealmName    string `json:"realm_name"`
		Username     string `json:"username"`
	}
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := decodeBody(x.r, &req, false); err != nil {
		return err
	}
	switch {
	case req.RefreshToken != "":
		return domain.Invalid("keyplane issues no refresh tokens: invalidate the access token with [token]")
	case req.RealmName != "" || req.Username != "":
		return domain.Invalid("access tokens are signed, not stored: invalidate them one by one with [token], or delete or disable the user")
	case req.Token == "":
		return domain.Invalid("Validation Failed: 1: one of [token], [refresh_token], [realm_name] or [username] must be specified;")
	}
	t, ours := s.parseToken(req.Token)
	if !ours || t.Tenant != x.org.ID || t.Project != x.pr.ID {
		return domain.NotFound("token not found")
	}
	if err := s.tokenLive(req.Token, t); err != nil {
		// Expired or invalidated already: nothing left to end.
		return x.write(http.StatusOK, tokenInvalidation(0, 1))
	}
	if t.User != x.p.User || t.Realm != x.p.RealmName() {
		if err := x.authorize(domain.ActionInvalidateToken, false); err != nil {
			return err
		}
	}
	ctx, cancel := cmdCtx(x.r)
	defer cancel()
	ended, err := s.Tenants.EndSession(ctx, x.meta(), domain.SessionToken, bearerHash(req.Token), t.User, time.Unix(t.Expires, 0))
	if err != nil {
		return err
	}
	if !ended {
		return x.write(http.StatusOK, tokenInvalidation(0, 1))
	}
	return x.write(http.StatusOK, tokenInvalidation(1, 0))
}

func tokenInvalidation(invalidated, previously int) map[string]any {
	return map[string]any{"invalidated_tokens": invalidated, "previously_invalidated_tokens": previously,
		"error_count": 0, "error_details": []any{}}
}
