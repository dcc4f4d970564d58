package commands

import (
	"crypto/rand"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
)

// IDSource makes the fresh identifiers and secrets that commands hand to
// domain's decisions. domain takes them as arguments and draws no randomness
// itself; a test may pass a source whose answers it knows.
type IDSource interface {
	KeyID() domain.KeyID
	Secret() domain.Secret
	TenantID() domain.TenantID
	ProjectID() domain.ProjectID
}

// RandomIDs is the production source: crypto/rand for key ids and secrets,
// random UUIDs for organizations and projects. Its zero value is ready.
type RandomIDs struct{}

// KeyID returns 20 random URL-safe characters (120 bits).
func (RandomIDs) KeyID() domain.KeyID {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	return domain.KeyIDFrom(b)
}

// Secret returns a fresh secret of domain.SecretLen characters (132 bits).
func (RandomIDs) Secret() domain.Secret {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return domain.SecretFrom(b)
}

// TenantID returns a fresh organization id.
func (RandomIDs) TenantID() domain.TenantID { return domain.TenantID(uuid.NewString()) }

// ProjectID returns a fresh project id.
func (RandomIDs) ProjectID() domain.ProjectID { return domain.ProjectID(uuid.NewString()) }

func (s *Service) ids() IDSource {
	if s.IDs != nil {
		return s.IDs
	}
	return RandomIDs{}
}
