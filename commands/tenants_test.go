package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/tenants"
)

// staleOrgs answers organization ref, at its stale-th read only, as it
// was before its last change.
type staleOrgs struct {
	*tenants.Directory
	stale *domain.Org
	at    int
	reads int
}

func (s *staleOrgs) Org(ref string) (*domain.Org, bool) {
	s.reads++
	if s.reads == s.at {
		return s.stale, true
	}
	return s.Directory.Org(ref)
}

func TestTenantCommandsByOutcome(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal)
	}{
		{"an organization is created under the injected ids and clock", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			ev, err := w.log.Last(ctx, eventlog.SubjectOf(o.ID, domain.AggOrg, string(o.ID)))
			if err != nil || ev == nil {
				t.Fatalf("no event: %v", err)
			}
			if !strings.HasPrefix(string(o.ID), "org-") || !strings.HasPrefix(ev.ID, "event-") || !ev.Time.Equal(testNow) {
				t.Fatalf("organization %s, event %s at %v", o.ID, ev.ID, ev.Time)
			}
		}},
		{"a second organization of the same name is a conflict and appends nothing", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			before := w.lastSeq(t)
			if _, err := ts.CreateOrg(ctx, p, meta(), o.Name); !domain.IsKind(err, domain.KindConflict) {
				t.Fatalf("err %v, want a conflict", err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"a project decided on a stale organization conflicts, catches up and succeeds", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			if err := ts.SetContacts(ctx, p, meta(), string(o.ID), []string{"ops@example.com"}); err != nil {
				t.Fatal(err)
			}
			// Read 1 is the visibility check, read 2 the first decision.
			dir := &staleOrgs{Directory: w.dir, stale: o, at: 2}
			pr, err := commands.NewTenants(w.deps(), dir, tenants.HashPassword).CreateProject(ctx, p, meta(), string(o.ID), "web")
			if err != nil || pr == nil || pr.Name != "web" {
				t.Fatalf("project %+v, err %v", pr, err)
			}
			if dir.reads < 3 {
				t.Fatalf("%d reads: the stale decision was not retried", dir.reads)
			}
		}},
		{"a refused project appends nothing", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			before := w.lastSeq(t)
			if _, err := ts.CreateProject(ctx, p, meta(), string(o.ID), " padded "); !domain.IsKind(err, domain.KindInvalid) {
				t.Fatalf("err %v, want invalid", err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"an invited member joins with the injected token, and its removal ends its sessions in the same batch", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			inv, err := ts.Invite(ctx, p, meta(), string(o.ID), "bob@example.com", domain.RoleAdmin)
			if err != nil || !strings.HasPrefix(inv.Token, "kpinv_token-") {
				t.Fatalf("invitation %+v, err %v", inv, err)
			}
			if _, err := ts.AcceptAsNewUser(ctx, meta(), inv.Token, commands.NewUser{Name: "bob", Password: "bob-password"}); err != nil {
				t.Fatal(err)
			}
			if o, _ := w.dir.Org(string(o.ID)); o.Members["bob"] != domain.RoleAdmin {
				t.Fatalf("members %v", o.Members)
			}
			before := w.lastSeq(t)
			if err := ts.RemoveMember(ctx, p, meta(), string(o.ID), "bob"); err != nil {
				t.Fatal(err)
			}
			revoked, err := w.log.Last(ctx, eventlog.SubjectOf(domain.SystemTenant, domain.AggUser, domain.UserAggID("bob")))
			if err != nil || revoked == nil || revoked.Type != (domain.SessionsRevoked{}).EventType() || revoked.Seq != before+2 {
				t.Fatalf("bob's last event %+v (log was at %d), err %v", revoked, before, err)
			}
		}},
		{"a password change of an unknown user is not found and appends nothing", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			before := w.lastSeq(t)
			if err := ts.ChangePassword(ctx, meta(), "nobody", "long-enough"); !domain.IsKind(err, domain.KindNotFound) {
				t.Fatalf("err %v, want not found", err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"a session ended twice is recorded once", func(t *testing.T, w *world, ts *commands.Tenants, o *domain.Org, p domain.Principal) {
			hash := strings.Repeat("ab", 32)
			before := w.lastSeq(t)
			for i, want := range []bool{true, false} {
				ended, err := ts.EndSession(ctx, meta(), domain.SessionConsole, hash, "alice", testNow.Add(time.Hour))
				if err != nil || ended != want {
					t.Fatalf("end %d: ended %v, err %v", i+1, ended, err)
				}
			}
			if after := w.lastSeq(t); after != before+1 {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			o, p := w.anOrg(t)
			tc.run(t, w, commands.NewTenants(w.deps(), w.dir, tenants.HashPassword), o, p)
		})
	}
}

// staleRealm answers, at its first view only, the realm as it was before
// anything was put in it.
type staleRealm struct {
	live  commands.RealmReader
	views int
}

func (s *staleRealm) View(t domain.TenantID, pr domain.ProjectID, fn func(*esrealm.Realm)) {
	s.views++
	if s.views == 1 {
		fn(esrealm.NewRealm(t, pr))
		return
	}
	s.live.View(t, pr, fn)
}

func TestRealmCommandDecidedOnAStaleRealmConflictsCatchesUpAndSucceeds(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o, p := w.anOrg(t)
	pr := domain.ProjectID("p1")
	role := []byte(`{"cluster": ["monitor"]}`)
	if created, err := commands.NewRealms(w.deps(), w.realms, tenants.HashPassword).PutRole(ctx, p, meta(), o.ID, pr, "first", role); err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	stale := &staleRealm{live: w.realms}
	created, err := commands.NewRealms(w.deps(), stale, tenants.HashPassword).PutRole(ctx, p, meta(), o.ID, pr, "second", role)
	if err != nil || !created || stale.views != 2 {
		t.Fatalf("created %v, err %v, %d views (want 2: stale, then caught up)", created, err, stale.views)
	}
	w.realms.View(o.ID, pr, func(r *esrealm.Realm) {
		if _, ok := r.Roles["first"]; !ok || len(r.Roles) != 2 {
			t.Fatalf("roles %v: the retry lost the first role", r.Roles)
		}
	})
}
