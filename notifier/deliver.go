package notifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// work runs the delivery worker until ctx ends, starting the consumer
// again (after a pause) whenever the log drops it.
func (n *Notifier) work(ctx context.Context) {
	c := eventlog.Consumer{Durable: consumerName, Filter: eventlog.AggSubjects(domain.AggNotice),
		Backoff: eventlog.ExponentialBackoff(n.cfg.RetryBase, n.cfg.RetryMax)}
	for ctx.Err() == nil {
		err := n.Log.Consume(ctx, c, n.deliver)
		if ctx.Err() != nil {
			return
		}
		n.cfg.Logger.Error("notice delivery stopped; restarting", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// errRetry makes the consumer deliver the notice again after a backoff.
var errRetry = errors.New("notice not delivered to every recipient yet")

// deliver handles one event on a notice subject: for a recorded notice, it
// emails every recipient not yet settled and records each outcome.
func (n *Notifier) deliver(ctx context.Context, d eventlog.Delivery) error {
	if d.Event.Type != (domain.ExpiryNoticeRecorded{}).EventType() {
		return nil // outcomes are records, not work
	}
	// Read our own log: the notice and anything before it (a revoke, an
	// outcome recorded by another replica) is in the projections.
	if err := n.Wait.WaitFor(ctx, d.Event.Seq); err != nil {
		return err
	}
	st, ok := n.Notices.Get(d.Event.Tenant, d.Event.AggID)
	if !ok {
		return nil // settled or canceled already
	}
	k, reason := n.current(st)
	if reason != "" {
		n.cfg.Logger.Info("expiry notice canceled", "tenant", st.Tenant, "notice", st.ID, "reason", reason)
		return n.record(ctx, st, func(projections.NoticeState) []domain.Payload {
			return []domain.Payload{domain.NoticeCanceled{Reason: reason}}
		})
	}
	sent, failed := n.send(ctx, st, k)
	outcomes := n.outcomes(st, sent, failed, d.Attempt)
	if err := n.record(ctx, st, unsettled(outcomes)); err != nil {
		return err
	}
	n.logOutcomes(st, outcomes, failed, d.Attempt)
	if len(outcomes) < len(st.Pending()) {
		return errRetry
	}
	return nil
}

// outcomes are the events one attempt settles: a delivery per address the
// server accepted, a failure per address refused for good (5xx) or still
// failing at the last attempt. The others are tried again.
func (n *Notifier) outcomes(st projections.NoticeState, sent map[string]string, failed map[string]sendFailure, attempt int) []domain.Payload {
	var out []domain.Payload
	for _, r := range st.Pending() {
		if id, ok := sent[r]; ok {
			out = append(out, domain.NoticeDelivered{Recipient: r, Attempts: attempt, MessageID: id})
		} else if f := failed[r]; f.err != nil && (!f.temporary || attempt >= n.cfg.MaxAttempts) {
			out = append(out, domain.NoticeFailed{Recipient: r, Attempts: attempt, Error: f.err.Error()})
		}
	}
	return out
}

// current is the notice's key, or why the notice went stale.
func (n *Notifier) current(st projections.NoticeState) (domain.Key, string) {
	k, ok := n.Keys.Get(st.Tenant, st.Notice.KeyID)
	switch {
	case !ok:
		return k, "the key does not exist"
	case k.Invalidated:
		return k, "the key was revoked"
	case k.RotatedTo != "":
		return k, "the key was rotated"
	case !k.Expires.Equal(st.Notice.Expires):
		return k, "the key's expiration changed"
	}
	return k, ""
}

// unsettled keeps, of the outcomes, those whose recipient is still pending
// in the notice's current state: a concurrent worker may have recorded
// some meanwhile.
func unsettled(outcomes []domain.Payload) func(projections.NoticeState) []domain.Payload {
	return func(st projections.NoticeState) []domain.Payload {
		var out []domain.Payload
		for _, p := range outcomes {
			var r string
			switch o := p.(type) {
			case domain.NoticeDelivered:
				r = o.Recipient
			case domain.NoticeFailed:
				r = o.Recipient
			}
			if !st.Settled[strings.ToLower(r)] {
				out = append(out, p)
			}
		}
		return out
	}
}

// record appends to the notice the outcomes decide returns for its
// current state; on a conflict it catches up and asks decide again with
// the notice's new state.
func (n *Notifier) record(ctx context.Context, st projections.NoticeState, decide func(projections.NoticeState) []domain.Payload) error {
	return n.Commands.Settle(ctx, st.Tenant, st.ID, func() (uint64, []domain.Payload, bool) {
		cur, ok := n.Notices.Get(st.Tenant, st.ID)
		if !ok {
			return 0, nil, false
		}
		return cur.Seq, decide(cur), true
	})
}

func (n *Notifier) logOutcomes(st projections.NoticeState, outcomes []domain.Payload, failed map[string]sendFailure, attempt int) {
	for _, p := range outcomes {
		switch o := p.(type) {
		case domain.NoticeDelivered:
			n.cfg.Logger.Info("expiry notice sent", "tenant", st.Tenant, "notice", st.ID, "to", o.Recipient, "attempt", attempt)
		case domain.NoticeFailed:
			n.cfg.Logger.Error("expiry notice failed", "tenant", st.Tenant, "notice", st.ID, "to", o.Recipient, "attempts", attempt, "err", o.Error)
			delete(failed, o.Recipient)
		}
	}
	for r, f := range failed {
		n.cfg.Logger.Warn("expiry notice not sent yet; will retry", "tenant", st.Tenant, "notice", st.ID, "to", r,
			"attempt", fmt.Sprintf("%d/%d", attempt, n.cfg.MaxAttempts), "err", f.err)
	}
}
