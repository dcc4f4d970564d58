package commands

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// NewUser describes a login to create.
type NewUser struct {
	Name, Email, FullName, Password string
}

// CreateUser creates a login; its name is claimed with create-if-absent.
func (s *Tenants) CreateUser(ctx context.Context, m domain.Meta, u NewUser) error {
	if !domain.ValidUserName(u.Name) {
		return domain.Invalid("user name must be 1 to 64 letters, digits or ._@+-")
	}
	if err := validPassword(u.Password); err != nil {
		return err
	}
	if u.Email != "" {
		if _, err := domain.ParseEmail(u.Email); err != nil {
			return err
		}
	}
	if u.FullName != "" && !domain.ValidName(u.FullName) {
		return domain.Invalid("full name must be 1 to %d bytes, without control, format or separator characters or surrounding spaces", domain.MaxNameBytes)
	}
	m.Time = s.now()
	_, _, err := s.create(ctx, userAt(u.Name), m,
		domain.UserCreated{Name: u.Name, Email: u.Email, FullName: u.FullName, PasswordHash: s.hash(u.Password)})
	if domain.IsKind(err, domain.KindConflict) {
		return domain.Conflict("user [%s] already exists", u.Name)
	}
	return err
}

// ChangePassword sets a login's own password. The caller has checked the
// current one. Every session issued with the old password ends everywhere
// (they carry its fingerprint), and a forced reset is over.
func (s *Tenants) ChangePassword(ctx context.Context, m domain.Meta, user, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash := s.hash(password)
	load := func(use func(*domain.User, where)) error {
		u, ok := s.dir.User(user)
		if !ok {
			return domain.NotFound("user [%s] not found", user)
		}
		at := userAt(user)
		at.seq = u.Seq
		use(u, at)
		return nil
	}
	return change(ctx, &s.core, m, load, func(*domain.User, domain.Meta) (decision, error) {
		return decision{event: domain.PasswordChanged{PasswordHash: hash}}, nil
	})
}

func validPassword(pw string) error {
	if len(pw) < 8 || len(pw) > 256 {
		return domain.Invalid("password must be 8 to 256 characters")
	}
	return nil
}

// EndSession records in the log that a console session or an access token
// (kind) was ended, so that every replica refuses it from then on
// (projections.EndedSessions). hash is the hex SHA-256 of the session id or
// token, never the thing itself. Ending a session twice is not an error:
// ended is false the second time.
func (s *Tenants) EndSession(ctx context.Context, m domain.Meta, kind, hash, user string, expires time.Time) (ended bool, err error) {
	if !domain.ValidSessionHash(hash) {
		return false, domain.Invalid("session hash must be 64 lowercase hex digits")
	}
	m.Time = s.now()
	at := where{tenant: domain.SystemTenant, typ: domain.AggSession, id: hash}
	_, seqs, err := s.create(ctx, at, m, domain.SessionEnded{Session: hash, Kind: kind, User: user, Expires: expires.UTC()})
	if domain.IsKind(err, domain.KindConflict) {
		return false, nil // ended already
	}
	return seqs != nil, err
}
