package projections

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// RangeReader reads a stretch of the log once (eventlog.Log).
type RangeReader interface {
	ReadRange(ctx context.Context, r eventlog.Range, fn func(domain.Event) error) error
}

// AsOf is a point in the log's past: a stream sequence, or a time.
type AsOf struct {
	Seq  uint64
	Time time.Time
}

// asOfSkew is how far past now an as-of time may be: a client's clock
// runs a little ahead of the server's now and then.
const asOfSkew = 5 * time.Minute

// ParseAsOf reads a sequence number or an RFC 3339 time, which must not be
// later than now. A later time has no state in the log: the list would be
// today's with statuses judged then (every key past its expiry shown
// expired), which an auditor who mistyped a year would take for history.
func ParseAsOf(s string, now time.Time) (AsOf, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
		return AsOf{Seq: n}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return AsOf{}, domain.Invalid("as_of must be a sequence number (1 or more) or an RFC 3339 time such as 2026-03-10T14:02:00Z, not [%s]", s)
	}
	if t.After(now.Add(asOfSkew)) {
		return AsOf{}, domain.Invalid("as_of [%s] is in the future (now is %s): the log holds no state after now", s, now.UTC().Format(time.RFC3339))
	}
	return AsOf{Time: t}, nil
}

// PastKeys is the key list as it was at a point of the log's past.
type PastKeys struct {
	*Keys
	// Seq and Time are those of the last event folded: the list is exactly
	// the state after it (zero when nothing had happened yet).
	Seq  uint64
	Time time.Time
	// Policy is the organization's key policy at that point (for a
	// tenant's past list; none for all tenants').
	Policy domain.KeyPolicy
}

// KeysAsOf folds a fresh key list from the log up to at: every event up to
// sequence at.Seq, or every event up to the first one stamped after
// at.Time (so the list is always the state after one event, never a mix).
// A tenant limits the read to that organization's keys; "" reads all.
//
// An event it cannot fold is quarantined as the live projections do
// (Runner): the key it concerns is left out of the list, and Poisoned
// names the event, instead of the whole answer failing for it.
func KeysAsOf(ctx context.Context, log RangeReader, tenant domain.TenantID, at AsOf) (PastKeys, error) {
	out := PastKeys{Keys: NewKeys()}
	fold := NewRunner(out.Keys, out.table.Quarantine())
	r := eventlog.Range{To: at.Seq}
	if tenant != "" {
		// The organization's subjects, not only its keys': the keys'
		// usage records (domain.AggKeyUse) are on subjects of their own.
		r.Subject = eventlog.TenantSubjects(tenant)
	}
	err := log.ReadRange(ctx, r, func(ev domain.Event) error {
		// (An event that does not decode has the time the log stored it.)
		if !at.Time.IsZero() && ev.Time.After(at.Time) {
			return eventlog.ErrStop
		}
		_ = fold.Apply(ev) // never fails: it quarantines
		out.Seq, out.Time = ev.Seq, ev.Time
		return nil
	})
	if err == nil && tenant != "" {
		out.Policy, err = policyAsOf(ctx, log, tenant, at)
	}
	return out, err
}

// policyAsOf is organization t's key policy at at: its last KeyPolicySet
// up to the same point the key list stops at. The organization's other
// events, and any it cannot read, leave it as it was.
func policyAsOf(ctx context.Context, log RangeReader, t domain.TenantID, at AsOf) (domain.KeyPolicy, error) {
	var pol domain.KeyPolicy
	r := eventlog.Range{To: at.Seq, Subject: eventlog.SubjectOf(t, domain.AggOrg, string(t))}
	err := log.ReadRange(ctx, r, func(ev domain.Event) error {
		if !at.Time.IsZero() && ev.Time.After(at.Time) {
			return eventlog.ErrStop
		}
		if ev.Type != (domain.KeyPolicySet{}).EventType() {
			return nil
		}
		if p, err := ev.Decode(); err == nil {
			pol = p.(domain.KeyPolicySet).Policy()
		}
		return nil
	})
	return pol, err
}

// Poisoned are the events the past list could not fold, by sequence: the
// keys they concern are left out of it.
func (p PastKeys) Poisoned() []Poisoned { return p.table.Quarantine().Events() }

// When is the time of the last event folded; nil before any, which a
// caller shows as such rather than as the year 1.
func (p PastKeys) When() *time.Time {
	if p.Seq == 0 {
		return nil
	}
	t := p.Time
	return &t
}

// StatusTime is when the past list's statuses are judged: the asked time,
// or for a sequence, the time of its last event.
func (p PastKeys) StatusTime(at AsOf) time.Time {
	if !at.Time.IsZero() {
		return at.Time
	}
	return p.Time
}

// All is the past list's keys of one tenant ("" for every tenant), by
// tenant, then creation, then id; not those Poisoned concern.
func (p PastKeys) All(tenant domain.TenantID) []domain.Key {
	p.mu.RLock()
	out := make([]domain.Key, 0, p.count)
	for _, r := range p.refs {
		if r != nil && (tenant == "" || r.c.Tenant == tenant) && !p.refuses(r) {
			out = append(out, r.key(true))
		}
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	return out
}
