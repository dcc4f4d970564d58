package tenants

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// EndSession records in the log that a console session or an access token
// (kind) was ended, so that every replica refuses it from then on
// (projections.EndedSessions). hash is the hex SHA-256 of the session id or
// token, never the thing itself. Ending a session twice is not an error:
// ended is false the second time.
func (s *Service) EndSession(ctx context.Context, m domain.Meta, kind, hash, user string, expires time.Time) (ended bool, err error) {
	if !domain.ValidSessionHash(hash) {
		return false, domain.Invalid("session hash must be 64 lowercase hex digits")
	}
	m.Time = s.now()
	app := eventlog.Append{Event: event(domain.SystemTenant, domain.AggSession, hash, m,
		domain.SessionEnded{Session: hash, Kind: kind, User: user, Expires: expires.UTC()}), Expect: 0}
	seqs, err := s.Log.Commit(ctx, s.Wait, app)
	if domain.IsKind(err, domain.KindConflict) {
		return false, nil // ended already
	}
	return seqs != nil, err
}
