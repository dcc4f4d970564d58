package notifier

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
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
	already, err := n.Commands.Record(ctx, n.plan(now, nil), func(ev domain.Event) {
		n.logRecorded(ev)
		if ev.AggType == domain.AggNotice {
			res.Noticed++
		} else {
			res.Expired++
		}
	})
	res.AlreadyRecorded = already
	return res, err
}

// plan is the scan without I/O: the appends due at now. It reads only the
// keys the expiry schedule says are due (buf is reused for them).
func (n *Notifier) plan(now time.Time, buf []projections.DueKey) []commands.Due {
	due := n.Expiry.Due(now, buf[:0])
	out := make([]commands.Due, 0, len(due))
	for _, d := range due {
		k, ok := n.Keys.Get(d.Tenant, d.ID)
		if !ok || k.Invalidated || !k.Expires.Equal(d.Expires) {
			continue // the projections are between two events: next scan
		}
		if !now.Before(d.Expires) {
			out = append(out, commands.Expired(k, now))
			continue
		}
		if k.RotatedTo != "" {
			continue // ended by rotation: its successor is what to tell about
		}
		if w, ok := domain.DueWindow(d.Expires, now, n.Expiry.Windows()); ok && (d.Noticed == 0 || w < d.Noticed) {
			out = append(out, commands.Notice(k, w, n.recipients(k), now))
		}
	}
	return out
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
