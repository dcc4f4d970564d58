package authn

import (
	"crypto/hmac"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// TokenLifetime is how long an OAuth2 access token lives, Elasticsearch's
// default.
const TokenLifetime = 20 * time.Minute

// Token is what an access token says. Tokens are signed, not stored: any
// replica verifies them with the secret every replica shares, and nothing
// secret enters the log. Invalidating one writes its SHA-256 to the log
// (SessionEnded), which every replica then refuses until the token would
// have expired anyway.
type Token struct {
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

const tokenPrefix = "kpt1."

// tokenKeyOf derives the signing key of access tokens from the shared
// secret, so that it is never the secret of idempotent creates itself.
func tokenKeyOf(secret []byte) []byte { return hmacSHA256(secret, "keyplane es oauth2 token v1") }

// tokenSince is when the account a token names began: a project user's
// creation, or a member's current membership.
func (a *Authenticator) tokenSince(o *domain.Org, pr *domain.Project, user, realm string) (uint64, bool) {
	if realm == domain.RealmProject {
		return a.realms.UserSince(o.ID, pr.ID, user)
	}
	return a.dir.MemberSince(o.ID, user)
}

// tokenPass is the fingerprint of the password hash a token's user has
// now (Pass).
func (a *Authenticator) tokenPass(o *domain.Org, pr *domain.Project, user, realm string) string {
	if realm == domain.RealmProject {
		u, _ := a.realms.User(o.ID, pr.ID, user)
		return passFingerprint(u.PasswordHash)
	}
	u, _ := a.dir.User(user)
	if u == nil {
		return passFingerprint("")
	}
	return passFingerprint(u.PasswordHash)
}

// SignToken signs t as an access token of project pr, tying it to its
// user's account and password (Since, Pass) as they are now.
func (a *Authenticator) SignToken(t Token, o *domain.Org, pr *domain.Project) string {
	t.Since, _ = a.tokenSince(o, pr, t.User, t.Realm)
	t.Pass = a.tokenPass(o, pr, t.User, t.Realm)
	return a.sign(t)
}

func (a *Authenticator) sign(t Token) string { return tokenPrefix + seal(t, a.tokenMAC) }

// tokenMAC signs and checks the claims of access tokens (sealed.go).
func (a *Authenticator) tokenMAC(body string) []byte { return hmacSHA256(a.tokenKey, body) }

// ReadToken verifies a token's signature and lifetime, and that it was not
// invalidated.
func (a *Authenticator) ReadToken(tok string) (Token, error) {
	t, ok := a.ParseToken(tok)
	if !ok {
		return t, domain.Unauthenticated("token malformed or expired")
	}
	return t, a.TokenLive(tok, t)
}

// ParseToken reads a token of ours: its signature checked, its lifetime
// not.
func (a *Authenticator) ParseToken(tok string) (Token, bool) {
	var t Token
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	return t, ok && len(tok) <= maxSealed && unseal(rest, a.tokenMAC, &t)
}

// TokenLive says why a token of ours, parsed, can no longer be used: it
// expired or was invalidated.
func (a *Authenticator) TokenLive(tok string, t Token) error {
	if a.now().Unix() >= t.Expires {
		return domain.Unauthenticated("token malformed or expired")
	}
	if a.ended != nil && a.ended.Ended(BearerHash(tok)) {
		return domain.Unauthenticated("token has been invalidated")
	}
	return nil
}

// TokenUser is the principal a live token acts for in project pr, if its
// user is still the one it was issued to.
func (a *Authenticator) TokenUser(o *domain.Org, pr *domain.Project, t Token) (domain.Principal, bool) {
	if t.Tenant != o.ID || t.Project != pr.ID {
		return domain.Principal{}, false
	}
	if since, ok := a.tokenSince(o, pr, t.User, t.Realm); !ok || since != t.Since {
		return domain.Principal{}, false
	}
	if !hmac.Equal([]byte(a.tokenPass(o, pr, t.User, t.Realm)), []byte(t.Pass)) {
		return domain.Principal{}, false
	}
	return a.User(o, pr, t.User, t.Realm)
}

// User finds a user by name and realm without a password (run_as and
// tokens): a project-local user or a member of the organization.
func (a *Authenticator) User(o *domain.Org, pr *domain.Project, name, realm string) (domain.Principal, bool) {
	if realm == domain.RealmProject {
		p, _, _, ok := a.realms.Principal(o.ID, pr.ID, name)
		return p, ok
	}
	if u, ok := a.dir.User(name); !ok || u.MustChangePassword {
		return domain.Principal{}, false
	}
	p := a.dir.Member(name)
	return p, p.InTenant(o.ID)
}
