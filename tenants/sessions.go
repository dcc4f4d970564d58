package tenants

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// EndSession records a console logout in the log, so that every replica
// refuses the session from then on (projections.EndedSessions). hash is the
// hex SHA-256 of the session id; the id itself is never written. Ending a
// session twice is not an error.
func (s *Service) EndSession(ctx context.Context, m domain.Meta, hash, user string, expires time.Time) error {
	if !domain.ValidSessionHash(hash) {
		return domain.Invalid("session hash must be 64 lowercase hex digits")
	}
	m.Time = s.now()
	app := eventlog.Append{Event: event(domain.SystemTenant, domain.AggSession, hash, m,
		domain.SessionEnded{Session: hash, User: user, Expires: expires.UTC()}), Expect: 0}
	seqs, err := s.Log.Append(ctx, app)
	if domain.IsKind(err, domain.KindConflict) {
		return nil // ended already, by another logout of the same session
	}
	if err != nil {
		return err
	}
	return eventlog.Await(ctx, s.Wait, []eventlog.Append{app}, seqs)
}
