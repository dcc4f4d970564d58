package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// esTokenLifetime is how long an OAuth2 access token lives, Elasticsearch's
// default.
const esTokenLifetime = 20 * time.Minute

// esToken is what an access token says. Tokens are signed, not stored: any
// replica verifies them with the secret every replica shares, and nothing
// secret enters the log. The cost is that a token cannot be revoked before
// it expires (deleting or disabling its user stops it, though).
type esToken struct {
	Tenant  domain.TenantID  `json:"t"`
	Project domain.ProjectID `json:"p"`
	User    string           `json:"u"`
	Realm   string           `json:"r,omitempty"`
	Expires int64            `json:"e"` // Unix seconds
}

const esTokenPrefix = "kpt1."

// tokenKey derives the signing key from the shared secret, so that it is
// never the secret of idempotent creates itself.
func (s *Server) tokenKey() []byte {
	m := hmac.New(sha256.New, s.Commands.SecretKey)
	m.Write([]byte("keyplane es oauth2 token v1"))
	return m.Sum(nil)
}

func (s *Server) signToken(t esToken) string {
	body, _ := json.Marshal(t)
	payload := base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, s.tokenKey())
	m.Write([]byte(payload))
	return esTokenPrefix + payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readToken verifies a token's signature and lifetime.
func (s *Server) readToken(tok string) (esToken, error) {
	var t esToken
	bad := domain.Unauthenticated("token malformed or expired")
	rest, ok := strings.CutPrefix(tok, esTokenPrefix)
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(tok) > 1024 {
		return t, bad
	}
	m := hmac.New(sha256.New, s.tokenKey())
	m.Write([]byte(payload))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return t, bad
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &t) != nil || s.now().Unix() >= t.Expires {
		return t, bad
	}
	return t, nil
}
