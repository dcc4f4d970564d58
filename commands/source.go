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
func (Random) KeyID() domain.KeyID         { return domain.KeyID(randomText(15)) }
func (Random) Secret() domain.Secret       { return domain.Secret(randomText(17)[:domain.SecretLen]) }
func (Random) Token() string               { return "kpinv_" + randomText(32) }

// randomText is n random bytes, URL-safe base64 without padding.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
