package projections

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

const expDay = 24 * time.Hour

var (
	expT0      = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	expWindows = []domain.NoticeWindow{domain.NoticeWindow(expDay), domain.NoticeWindow(30 * expDay), domain.NoticeWindow(7 * expDay)}
)

// expLog builds events with increasing sequences.
type expLog struct{ seq uint64 }

func (l *expLog) ev(t domain.TenantID, agg, id string, p domain.Payload) domain.Event {
	l.seq++
	e := domain.NewEvent(fmt.Sprint("e", l.seq), t, agg, id, domain.Meta{Time: expT0}, p)
	e.Seq = l.seq
	return e
}

func (l *expLog) created(id string, exp time.Time) domain.Event {
	c := domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: domain.ScopeOrg, Owner: domain.Owner{User: "carol"},
		Hash: domain.HashSecret([]byte(id)).String()}
	if !exp.IsZero() {
		c.Expires = &exp
	}
	return l.ev("org1", domain.AggKey, id, c)
}

func (l *expLog) noticed(id string, w time.Duration, exp time.Time) domain.Event {
	nw := domain.NoticeWindow(w)
	return l.ev("org1", domain.AggNotice, domain.NoticeAggID(domain.KeyID(id), nw, exp),
		domain.ExpiryNoticeRecorded{KeyID: domain.KeyID(id), Window: nw, Expires: exp, Recipients: []string{"a@example.com", "b@example.com"}})
}

func dueIDs(x *Expiry, now time.Time) string {
	var ids []string
	for _, d := range x.Due(now, nil) {
		s := string(d.ID)
		if d.Noticed != 0 {
			s += "/" + d.Noticed.String()
		}
		ids = append(ids, s)
	}
	return strings.Join(ids, " ")
}

func TestExpiryScheduleFollowsKeysAndNotices(t *testing.T) {
	var l expLog
	in8 := expT0.Add(8 * expDay)
	tests := []struct {
		name string
		evs  func() []domain.Event
		at   time.Time
		want string // due ids, soonest expiry first, with the window already noticed
	}{
		{"a key 8 days from expiry is in its 30d window", func() []domain.Event { return []domain.Event{l.created("a", in8)} }, expT0, "a"},
		{"a key 90 days away is not due", func() []domain.Event { return []domain.Event{l.created("a", expT0.Add(90*expDay))} }, expT0, ""},
		{"it falls due when its first window opens", func() []domain.Event { return []domain.Event{l.created("a", expT0.Add(90*expDay))} }, expT0.Add(60 * expDay), "a"},
		{"a key that never expires is never due", func() []domain.Event { return []domain.Event{l.created("a", time.Time{})} }, expT0.Add(1000 * expDay), ""},
		{"a noticed window is not due again", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.noticed("a", 30*expDay, in8)}
		}, expT0.Add(expDay - time.Minute), ""},
		{"the next window falls due", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.noticed("a", 30*expDay, in8)}
		}, expT0.Add(expDay), "a/30d"},
		{"after the last window the expiry falls due", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.noticed("a", expDay, in8)}
		}, in8, "a/1d"},
		{"a revoked key leaves", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.ev("org1", domain.AggKey, "a", domain.KeyInvalidated{})}
		}, in8, ""},
		{"a recorded expiry leaves", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.ev("org1", domain.AggKey, "a", domain.KeyExpired{Expires: in8})}
		}, in8.Add(expDay), ""},
		{"an extended key moves, and its notices were for the old expiry", func() []domain.Event {
			later := expT0.Add(60 * expDay)
			return []domain.Event{l.created("a", in8), l.noticed("a", 30*expDay, in8), l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{Expires: &later})}
		}, expT0.Add(30 * expDay), "a"},
		{"an expiration changed back remembers what was noticed", func() []domain.Event {
			later := expT0.Add(60 * expDay)
			return []domain.Event{l.created("a", in8), l.noticed("a", 30*expDay, in8), l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{Expires: &later}),
				l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{Expires: &in8})}
		}, expT0, ""},
		{"a key updated to never expire leaves", func() []domain.Event {
			return []domain.Event{l.created("a", in8), l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{NeverExpires: true})}
		}, in8, ""},
		{"a key updated from never to a date joins", func() []domain.Event {
			return []domain.Event{l.created("a", time.Time{}), l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{Expires: &in8})}
		}, expT0, "a"},
		{"a notice about an unknown key is ignored", func() []domain.Event { return []domain.Event{l.noticed("zz", expDay, in8)} }, in8, ""},
		{"due keys come soonest expiry first", func() []domain.Event {
			return []domain.Event{l.created("c", expT0.Add(3*expDay)), l.created("b", expT0.Add(2*expDay)), l.created("a", expT0.Add(40*expDay)), l.created("d", expT0.Add(2*expDay))}
		}, expT0, "b d c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewExpiry(expWindows)
			for _, ev := range tt.evs() {
				if err := x.Apply(ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := dueIDs(x, tt.at); got != tt.want {
				t.Fatalf("due = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpiryDueCarriesTheKeySequence(t *testing.T) {
	var l expLog
	x := NewExpiry(expWindows)
	exp := expT0.Add(2 * expDay)
	for _, ev := range []domain.Event{l.created("a", exp), l.ev("org1", domain.AggKey, "a", domain.KeyUpdated{Metadata: &map[string]any{}}), l.noticed("a", 7*expDay, exp)} {
		if err := x.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	due := x.Due(exp, nil)
	if len(due) != 1 || due[0].KeySeq != 2 || due[0].Tenant != "org1" || !due[0].Expires.Equal(exp) {
		t.Fatalf("due = %+v", due)
	}
}

// TestExpiryDueVisitsOnlyDueKeys checks the heap walk against a plain
// filter over many keys with random-looking expiries and notices.
func TestExpiryDueVisitsOnlyDueKeys(t *testing.T) {
	var l expLog
	x := NewExpiry(expWindows)
	for i := 0; i < 2000; i++ {
		exp := expT0.Add(time.Duration(i*7919%(100*24)) * time.Hour)
		id := fmt.Sprint("k", i)
		if err := x.Apply(l.created(id, exp)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := x.Apply(l.noticed(id, 30*expDay, exp)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, at := range []time.Time{expT0, expT0.Add(20 * expDay), expT0.Add(80 * expDay)} {
		want := 0
		for _, e := range x.entries {
			if e.keySeq != 0 && e.due <= at.UnixNano() {
				want++
			}
		}
		if got := len(x.Due(at, nil)); got != want || want == 0 {
			t.Fatalf("at %v: %d due, want %d", at, got, want)
		}
	}
}

func TestNoticesHoldOnlyWorkInProgress(t *testing.T) {
	var l expLog
	exp := expT0.Add(8 * expDay)
	rec := l.noticed("a", 30*expDay, exp)
	id := rec.AggID
	ns := NewNotices()
	apply := func(p domain.Payload) {
		t.Helper()
		if err := ns.Apply(l.ev("org1", domain.AggNotice, id, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns.Apply(rec); err != nil {
		t.Fatal(err)
	}
	s, ok := ns.Get("org1", id)
	if !ok || strings.Join(s.Pending(), ",") != "a@example.com,b@example.com" || s.Seq != rec.Seq {
		t.Fatalf("recorded notice: %+v %v", s, ok)
	}
	if _, ok := ns.Get("org2", id); ok {
		t.Fatal("another tenant's notice must not be found")
	}
	apply(domain.NoticeDelivered{Recipient: "A@example.com", Attempts: 1})
	s, _ = ns.Get("org1", id)
	if strings.Join(s.Pending(), ",") != "b@example.com" || s.Seq != l.seq {
		t.Fatalf("after one delivery: %+v", s)
	}
	apply(domain.NoticeFailed{Recipient: "b@example.com", Attempts: 5, Error: "refused"})
	if _, ok := ns.Get("org1", id); ok || ns.Len() != 0 {
		t.Fatal("a settled notice must leave")
	}
	apply(domain.NoticeDelivered{Recipient: "b@example.com"}) // late duplicate: harmless

	other := l.noticed("b", expDay, exp)
	if err := ns.Apply(other); err != nil {
		t.Fatal(err)
	}
	if err := ns.Apply(l.ev("org1", domain.AggNotice, other.AggID, domain.NoticeCanceled{Reason: "revoked"})); err != nil {
		t.Fatal(err)
	}
	if ns.Len() != 0 {
		t.Fatal("a canceled notice must leave")
	}
	if err := ns.Apply(l.ev("org1", domain.AggNotice, id, domain.KeyInvalidated{})); err == nil {
		t.Fatal("a key event on a notice subject is an error")
	}
}
