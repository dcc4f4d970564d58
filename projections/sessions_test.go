package projections

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// sessionEnded is alice's session with this hash logged out at at.
func sessionEnded(hash string, at, expires time.Time) domain.Event {
	return domain.NewEvent("ev-"+hash[:4], domain.SystemTenant, domain.AggSession, hash, domain.Meta{Time: at},
		domain.SessionEnded{Session: hash, User: "alice", Expires: expires})
}

func TestEndedSessions(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h1, h2, h3 := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	tests := []struct {
		name   string
		events []domain.Event
		ended  []string
		live   []string
	}{
		{"a logout ends its session", []domain.Event{sessionEnded(h1, t0, t0.Add(8*time.Hour))}, []string{h1}, []string{h2}},
		{"an already expired session is not kept", []domain.Event{sessionEnded(h1, t0, t0.Add(-time.Second))}, nil, []string{h1}},
		{"expired entries are dropped as the log's time passes", []domain.Event{
			sessionEnded(h1, t0, t0.Add(time.Hour)),
			sessionEnded(h2, t0.Add(2*time.Hour), t0.Add(9*time.Hour)),
			sessionEnded(h3, t0.Add(2*time.Hour), t0.Add(10*time.Hour)),
		}, []string{h2, h3}, []string{h1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEndedSessions()
			for _, ev := range tt.events {
				if err := e.Apply(ev); err != nil {
					t.Fatal(err)
				}
			}
			restored := NewEndedSessions()
			snap, _ := e.Snapshot()
			if err := restored.Restore(snap); err != nil {
				t.Fatal(err)
			}
			again, _ := restored.Snapshot()
			if !bytes.Equal(snap, again) {
				t.Fatal("snapshot of the restored projection differs: not canonical")
			}
			for _, p := range []*EndedSessions{e, restored} {
				for _, h := range tt.ended {
					if !p.Ended(h) {
						t.Errorf("session %s… not ended", h[:4])
					}
				}
				for _, h := range tt.live {
					if p.Ended(h) {
						t.Errorf("session %s… ended, want live (or forgotten)", h[:4])
					}
				}
			}
		})
	}
}

func TestEndedSessionsRejectsCorruptSnapshot(t *testing.T) {
	e := NewEndedSessions()
	_ = e.Apply(sessionEnded(strings.Repeat("a", 64), time.Now(), time.Now().Add(time.Hour)))
	snap, _ := e.Snapshot()
	if err := NewEndedSessions().Restore(snap[:len(snap)-2]); err == nil {
		t.Fatal("a truncated snapshot was accepted")
	}
}

// TestARestoredEndedSessionsStillForgetsExpiredOnes: a restore must leave
// the projection able to drop entries as the log's time passes, like one
// that folded the same events.
func TestARestoredEndedSessionsStillForgetsExpiredOnes(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	e := NewEndedSessions()
	fold(t, []Snapshotter{e}, []domain.Event{sessionEnded(h1, t0, t0.Add(time.Hour))})
	restored := restoreInto(t, e, NewEndedSessions())
	fold(t, []Snapshotter{e, restored}, []domain.Event{sessionEnded(h2, t0.Add(2*time.Hour), t0.Add(9*time.Hour))})
	a, _ := e.Snapshot()
	b, _ := restored.Snapshot()
	if !bytes.Equal(a, b) || restored.Ended(h1) || !restored.Ended(h2) {
		t.Fatal("the restored projection kept an expired session the folded one dropped")
	}
}

// BenchmarkEndedSessionsApply folds logouts into a projection that holds
// n live sessions throughout: each logout comes a step after the last and
// its session expires n steps later, so each one drops the session that
// expired meanwhile. The cost of dropping expired entries must not grow
// with those that are not.
func BenchmarkEndedSessionsApply(b *testing.B) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	const step, run = time.Second, 1 << 15
	for _, n := range []int{100, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			// Session i ends at step i and expires n steps later. The events
			// come decoded, as the runner hands them over.
			events := make([]domain.Event, n+run)
			for i := range events {
				t := t0.Add(time.Duration(i) * step)
				ev, err := sessionEnded(fmt.Sprintf("%064x", i), t, t.Add(time.Duration(n)*step)).Decoded()
				if err != nil {
					b.Fatal(err)
				}
				events[i] = ev
			}
			var e *EndedSessions
			next := len(events)
			for b.Loop() {
				if next == len(events) { // start over with n live sessions
					b.StopTimer()
					e, next = NewEndedSessions(), n
					for _, ev := range events[:n] {
						if err := e.Apply(ev); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
				if err := e.Apply(events[next]); err != nil {
					b.Fatal(err)
				}
				next++
			}
			if live := len(e.m); live != n {
				b.Fatalf("%d live sessions, want %d", live, n)
			}
		})
	}
}

func TestRevokedSessionsAreThoseIssuedBeforeTheRevocation(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	revoked := func(user string, before time.Time) domain.Event {
		return domain.NewEvent("ev-"+user, domain.SystemTenant, domain.AggUser, domain.UserAggID(user), domain.Meta{Time: before},
			domain.SessionsRevoked{User: user, Before: before})
	}
	e := NewEndedSessions()
	for _, ev := range []domain.Event{revoked("bob", t0.Add(time.Hour)), revoked("bob", t0), revoked("cy", t0)} {
		if err := e.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	restored := NewEndedSessions()
	snap, _ := e.Snapshot()
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*EndedSessions{e, restored} {
		for _, c := range []struct {
			user   string
			issued time.Time
			want   bool
		}{
			{"bob", t0.Add(30 * time.Minute), true}, // an earlier revocation never narrows a later one
			{"bob", t0.Add(time.Hour), false},
			{"cy", t0.Add(-time.Millisecond), true},
			{"cy", t0.Add(time.Millisecond), false},
			{"dee", t0, false},
		} {
			if got := p.Revoked(c.user, c.issued); got != c.want {
				t.Errorf("%s issued %v: revoked %v, want %v", c.user, c.issued, got, c.want)
			}
		}
	}
}
