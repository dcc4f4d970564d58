package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// aKey creates a key of a fresh organization, expiring in a day.
func (w *world) aKey(t *testing.T) domain.Key {
	t.Helper()
	o, p := w.anOrg(t)
	out, err := w.keyCommands().CreateKey(context.Background(), p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "k", Expiration: "1d"}, "")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := w.keys.Get(o.ID, out.ID)
	return k
}

func TestNoticeCommandsByOutcome(t *testing.T) {
	ctx := context.Background()
	day := domain.NoticeWindow(24 * time.Hour)
	record := func(t *testing.T, w *world, due ...commands.Due) (recorded, already int) {
		t.Helper()
		already, err := commands.NewNotices(w.deps()).Record(ctx, due, func(domain.Event) { recorded++ })
		if err != nil {
			t.Fatal(err)
		}
		return recorded, already
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, w *world, k domain.Key)
	}{
		{"a notice is recorded once the projections hold it", func(t *testing.T, w *world, k domain.Key) {
			due := commands.Notice(k, day, []string{"ops@example.com"}, testNow)
			if rec, already := record(t, w, due); rec != 1 || already != 0 {
				t.Fatalf("recorded %d, already %d", rec, already)
			}
			if _, ok := w.notices.Get(k.Tenant, due.Event.AggID); !ok {
				t.Fatal("the projections do not hold the notice after Record")
			}
		}},
		{"a notice is create-if-absent: recorded again under another event id, it is refused", func(t *testing.T, w *world, k domain.Key) {
			record(t, w, commands.Notice(k, day, nil, testNow))
			// Past the log's deduplication window the same notice comes
			// with an id the log does not remember.
			again := commands.Notice(k, day, nil, testNow.Add(time.Hour))
			again.Event.ID = "notice-after-the-window"
			before := w.lastSeq(t)
			if rec, already := record(t, w, again); rec != 0 || already != 1 {
				t.Fatalf("recorded %d, already %d", rec, already)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"an expiry decided on a key that changed since is refused", func(t *testing.T, w *world, k domain.Key) {
			p := domain.Principal{Kind: domain.ActorUser, User: "alice", Memberships: map[domain.TenantID]domain.Role{k.Tenant: domain.RoleOwner}}
			if _, err := w.keyCommands().InvalidateKey(ctx, p, meta(), k.Tenant, k.ID, ""); err != nil {
				t.Fatal(err)
			}
			if rec, already := record(t, w, commands.Expired(k, k.Expires)); rec != 0 || already != 1 {
				t.Fatalf("recorded %d, already %d", rec, already)
			}
		}},
		{"a notice's outcomes are appended once, however often they are settled", func(t *testing.T, w *world, k domain.Key) {
			due := commands.Notice(k, day, []string{"a@example.com", "b@example.com"}, testNow)
			record(t, w, due)
			id := due.Event.AggID
			outcomes := []domain.Payload{domain.NoticeDelivered{Recipient: "a@example.com", Attempts: 1}, domain.NoticeDelivered{Recipient: "b@example.com", Attempts: 1}}
			decide := func() (uint64, []domain.Payload, bool) {
				st, ok := w.notices.Get(k.Tenant, id)
				if !ok {
					return 0, nil, false
				}
				var out []domain.Payload
				for _, o := range outcomes {
					if !st.Settled[strings.ToLower(o.(domain.NoticeDelivered).Recipient)] {
						out = append(out, o)
					}
				}
				return st.Seq, out, true
			}
			before := w.lastSeq(t)
			for range 2 {
				if err := commands.NewNotices(w.deps()).Settle(ctx, k.Tenant, id, decide); err != nil {
					t.Fatal(err)
				}
			}
			if after := w.lastSeq(t); after != before+2 {
				t.Fatalf("the log went from %d to %d, want two outcomes", before, after)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.run(t, w, w.aKey(t))
		})
	}
}
