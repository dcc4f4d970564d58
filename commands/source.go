package commands

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
)

// Source draws what commands need fresh: ids and secrets. Decisions take
// them as arguments; tests pass a Source of their own to know them ahead.
type Source interface {
	EventID() string
	TenantID() domain.TenantID
	ProjectID() domain.ProjectID
	// KeyID is 20 URL-safe characters (120 bits), like Elasticsearch's.
	KeyID() domain.KeyID
	// Secret is a key's secret, domain.SecretLen URL-safe characters.
	Secret() domain.Secret
	// Token is an invitation's bearer secret (256 bits).
	Token() string
}

// Random is the Source of a running keyplane: crypto/rand.
type Random struct{}

func (Random) EventID() string             { return uuid.NewString() }
func (Random) TenantID() domain.TenantID   { return domain.TenantID(uuid.NewString()) }
func (Random) ProjectID() domain.ProjectID { return domain.ProjectID(uuid.NewString()) }

// KeyID is 15 random bytes (120 bits) as domain formats a key id.
func (Random) KeyID() domain.KeyID {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	return domain.KeyIDFrom(b)
}

// Secret is 17 random bytes as domain formats a secret (132 bits).
func (Random) Secret() domain.Secret {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return domain.SecretFrom(b)
}

// Token is an invitation's bearer secret: 32 random bytes.
func (Random) Token() string { return "kpinv_" + randomText(32) }

// randomText is n random bytes, URL-safe base64 without padding.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
