package commands

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// usageActor is who writes usage records: keyplane, on behalf of the
// replica that saw the uses (no request carries them).
var usageActor = domain.Actor{Kind: domain.ActorSystem, ID: "keyplane", Name: "usage"}

// RecordUse writes down that key id of tenant t was used at used, unless
// the log already holds a use of it in that hour or later. It reports
// whether this call appended the record (two replicas appending the same
// record within the log's duplicate window both report it; the log holds
// it once).
//
// The record is on the key's usage subject (domain.AggKeyUse), never the
// key's own: a replica noting use must never make a user's update,
// rotation or revocation of the key fail on a stale sequence, nor be made
// to fail by one. On the usage subject the append expects the subject's
// last sequence as the decision saw it, so of two replicas recording the
// same hour only one is stored: the other's conflict catches its fold up
// to the winner's record, and deciding again finds the hour written. The
// event id is derived from key and hour as well, so that a retried
// publish is recognised as stored (eventlog.Log.Append's message id).
func (s *Keys) RecordUse(ctx context.Context, t domain.TenantID, id domain.KeyID, used time.Time) (bool, error) {
	wrote := false
	m := domain.Meta{Actor: usageActor}
	load := func(use func(domain.Key, where)) error {
		k, ok := s.keys.Get(t, id)
		if !ok {
			return domain.NotFound("api key [%s] not found", id)
		}
		use(k, where{tenant: t, typ: domain.AggKeyUse, id: string(id), seq: k.UseSeq})
		return nil
	}
	err := change(ctx, &s.core, m, load, func(k domain.Key, m domain.Meta) (decision, error) {
		ev, need := domain.DecideRecordUse(&k, used)
		wrote = need
		if !need {
			return decision{}, nil
		}
		return decision{event: ev, id: domain.UsageEventID(t, id, used)}, nil
	})
	return wrote, err
}
