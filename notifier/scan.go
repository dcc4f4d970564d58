package notifier

import (
	"context"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// ScanResult counts what one scan did.
type ScanResult struct {
	// Noticed and Expired are the events this scan had acknowledged by the
	// log. Two scans appending the same event at the same moment may both
	// count it: the log stores it once (same Nats-Msg-Id) and acknowledges
	// both.
	Noticed, Expired int
	// AlreadyRecorded are appends the log refused because the event was
	// already there (another replica or an earlier scan) or the key changed
	// meanwhile.
	AlreadyRecorded int
}

// Scan records, as of now, a notice for every key that entered a notice
// window and an expiry for every key whose expiry passed, then waits until
// the projections hold them (a second scan right after finds nothing).
// Any number of scans may run at once, here or on other replicas: each
// notice and each expiry is appended once.
func (n *Notifier) Scan(ctx context.Context, now time.Time) (ScanResult, error) {
	var res ScanResult
	var last uint64
	for _, a := range n.plan(now, nil) {
		seqs, err := n.Log.Append(ctx, a)
		if domain.IsKind(err, domain.KindConflict) {
			res.AlreadyRecorded++
			continue
		}
		if err != nil {
			return res, err
		}
		last = seqs[0]
		n.logRecorded(a.Event)
		if a.Event.AggType == domain.AggNotice {
			res.Noticed++
		} else {
			res.Expired++
		}
	}
	if last == 0 {
		return res, nil
	}
	return res, n.Wait.WaitFor(ctx, last)
}

// plan is the scan without I/O: the appends due at now. It reads only the
// keys the expiry schedule says are due (buf is reused for them).
func (n *Notifier) plan(now time.Time, buf []projections.DueKey) []eventlog.Append {
	due := n.Expiry.Due(now, buf[:0])
	out := make([]eventlog.Append, 0, len(due))
	for _, d := range due {
		k, ok := n.Keys.Get(d.Tenant, d.ID)
		if !ok || k.Invalidated || !k.Expires.Equal(d.Expires) {
			continue // the projections are between two events: next scan
		}
		if !now.Before(d.Expires) {
			out = append(out, n.expired(k, now))
			continue
		}
		if w, ok := domain.DueWindow(d.Expires, now, n.Expiry.Windows()); ok && (d.Noticed == 0 || w < d.Noticed) {
			out = append(out, n.notice(k, w, now))
		}
	}
	return out
}

// expired records that k's expiry passed. It is appended with the key's
// expected sequence, so it cannot land after a change the scan did not see.
func (n *Notifier) expired(k domain.Key, now time.Time) eventlog.Append {
	id := "expired-" + string(k.ID) + "-" + strconv.FormatInt(k.Expires.Unix(), 10)
	m := domain.Meta{Actor: actor, CorrelationID: id, Time: now}
	return eventlog.Append{Event: domain.NewEvent(id, k.Tenant, domain.AggKey, string(k.ID), m, domain.KeyExpired{Expires: k.Expires}), Expect: k.Seq}
}

// notice records that k entered window w; it is the first event of its own
// subject (expected sequence 0), so it exists once.
func (n *Notifier) notice(k domain.Key, w domain.NoticeWindow, now time.Time) eventlog.Append {
	aggID := domain.NoticeAggID(k.ID, w, k.Expires)
	m := domain.Meta{Actor: actor, CorrelationID: "notice-" + aggID, Time: now}
	p := domain.ExpiryNoticeRecorded{KeyID: k.ID, Window: w, Expires: k.Expires, Recipients: n.recipients(k)}
	return eventlog.Append{Event: domain.NewEvent("notice-"+aggID, k.Tenant, domain.AggNotice, aggID, m, p), Expect: 0}
}

// recipients are the key creator's address and the organization's
// operational contacts, each once.
func (n *Notifier) recipients(k domain.Key) []string {
	var creator string
	if u, ok := n.Dir.User(k.Owner.User); ok {
		creator = u.Email
	}
	var contacts []string
	if o, ok := n.Dir.Org(string(k.Tenant)); ok {
		contacts = o.Contacts
	}
	return domain.NoticeRecipients(creator, contacts)
}

func (n *Notifier) logRecorded(ev domain.Event) {
	if ev.AggType == domain.AggKey {
		n.cfg.Logger.Info("key expired", "tenant", ev.Tenant, "key", ev.AggID)
		return
	}
	if p, err := ev.Decode(); err == nil && len(p.(domain.ExpiryNoticeRecorded).Recipients) == 0 {
		n.cfg.Logger.Warn("expiry notice recorded, but nobody to tell: the key's creator has no email and the organization no operational contacts",
			"tenant", ev.Tenant, "notice", ev.AggID)
		return
	}
	delivery := "queued"
	if !n.cfg.SMTP.Enabled() {
		delivery = "waiting for an SMTP server (--smtp-addr)"
	}
	n.cfg.Logger.Info("expiry notice recorded", "tenant", ev.Tenant, "notice", ev.AggID, "delivery", delivery)
}
