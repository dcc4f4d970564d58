package commands

import (
	"context"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Notices runs the notifier's commands: a key's expiry, an expiry notice
// and a notice's delivery outcomes. Their event ids are derived from what
// they record, so two replicas recording the same thing store it once.
type Notices struct {
	core
}

// NewNotices returns the notice commands.
func NewNotices(d Deps) *Notices { return &Notices{core: newCore(d)} }

// noticeActor is who notices and recorded expiries are from.
var noticeActor = domain.Actor{Kind: domain.ActorSystem, ID: "notifier", Name: "expiry notifier"}

// Due is what an expiry scan found due: a key's expiry (Expired) or an
// expiry notice (Notice), decided and not yet recorded.
type Due struct {
	eventlog.Append
}

// Expired records that k's expiry passed. It is appended with the key's
// expected sequence, so it cannot land after a change the scan did not see.
func Expired(k domain.Key, now time.Time) Due {
	id := "expired-" + string(k.ID) + "-" + strconv.FormatInt(k.Expires.Unix(), 10)
	m := domain.Meta{Actor: noticeActor, CorrelationID: id, Time: now}
	return Due{eventlog.Append{Event: domain.NewEvent(id, k.Tenant, domain.AggKey, string(k.ID), m, domain.KeyExpired{Expires: k.Expires}), Expect: k.Seq}}
}

// Notice records that k entered window w, for recipients; it is the first
// event of its own subject (expected sequence 0), so it exists once.
func Notice(k domain.Key, w domain.NoticeWindow, recipients []string, now time.Time) Due {
	aggID := domain.NoticeAggID(k.ID, w, k.Expires)
	m := domain.Meta{Actor: noticeActor, CorrelationID: "notice-" + aggID, Time: now}
	p := domain.ExpiryNoticeRecorded{KeyID: k.ID, Window: w, Expires: k.Expires, Recipients: recipients}
	return Due{eventlog.Append{Event: domain.NewEvent("notice-"+aggID, k.Tenant, domain.AggNotice, aggID, m, p), Expect: 0}}
}

// Record appends each of due on its own (one recorded already does not
// hold up the others), calls recorded with each event the log
// acknowledged, and returns once the projections hold them all (a scan
// right after finds nothing due). already counts the appends the log
// refused because the event was there (another replica or an earlier scan)
// or the key changed meanwhile.
func (n *Notices) Record(ctx context.Context, due []Due, recorded func(domain.Event)) (already int, err error) {
	var last uint64
	for _, d := range due {
		seqs, err := n.store.Append(ctx, d.Append)
		if domain.IsKind(err, domain.KindConflict) {
			already++
			continue
		}
		if err != nil {
			return already, err
		}
		last = seqs[0]
		recorded(d.Event)
	}
	if last == 0 {
		return already, nil
	}
	return already, n.wait.WaitFor(ctx, last)
}

// NoticeOutcomes is a notice's state as a decision about its outcomes
// needs it: its sequence, and whether it is still open at all.
type NoticeOutcomes func() (seq uint64, outcomes []domain.Payload, open bool)

// Settle records the outcomes of notice id (deliveries, failures, a
// cancellation) on the one command path: decide reads the notice's current
// state and returns the outcomes still to record; on a conflict (another
// worker recorded some) it runs again.
func (n *Notices) Settle(ctx context.Context, t domain.TenantID, id string, decide NoticeOutcomes) error {
	m := domain.Meta{Actor: noticeActor, CorrelationID: "notice-" + id}
	load := func(use func([]domain.Payload, where)) error {
		if seq, outcomes, open := decide(); open {
			use(outcomes, where{tenant: t, typ: domain.AggNotice, id: id, seq: seq})
		}
		return nil // settled by someone else
	}
	return change(ctx, &n.core, m, load, func(outcomes []domain.Payload, m domain.Meta) (decision, error) {
		if len(outcomes) == 0 {
			return decision{}, nil
		}
		d := decision{event: outcomes[0], id: outcomeID(id, outcomes[0])}
		for _, p := range outcomes[1:] {
			// Follows the checked first event of this batch, in order.
			at := where{tenant: t, typ: domain.AggNotice, id: id}
			a := eventlog.Append{Event: domain.NewEvent(outcomeID(id, p), at.tenant, at.typ, at.id, m, p), AnySeq: true}
			d.more = append(d.more, a)
		}
		return d, nil
	})
}

// outcomeID derives an event id from what it records, so a publish retried
// after a lost answer is deduplicated by the log.
func outcomeID(notice string, p domain.Payload) string {
	switch o := p.(type) {
	case domain.NoticeDelivered:
		return "delivered-" + domain.NoticeMessageID(notice, o.Recipient, "n")
	case domain.NoticeFailed:
		return "failed-" + domain.NoticeMessageID(notice, o.Recipient, "n")
	}
	return "canceled-" + notice
}
