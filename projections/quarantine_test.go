package projections

import (
	"context"
	"encoding/hex"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// quarantineLog: o1 creates k1 and k2 (alice) and k3 (bob), o2 creates k9;
// then bad (sequence 5), then k2 is revoked and k4 created in o1.
func quarantineLog(bad domain.Event) []domain.Event {
	created := func(t domain.TenantID, id, owner string) domain.Payload {
		return domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
			Owner: domain.Owner{User: owner}, Hash: hashHex}
	}
	steps := []struct {
		t  domain.TenantID
		id string
		p  domain.Payload
	}{
		{"o1", "k1", created("o1", "k1", "alice")},
		{"o1", "k2", created("o1", "k2", "alice")},
		{"o1", "k3", created("o1", "k3", "bob")},
		{"o2", "k9", created("o2", "k9", "carol")},
		{},
		{"o1", "k2", domain.KeyInvalidated{Reason: "leaked"}},
		{"o1", "k4", created("o1", "k4", "bob")},
	}
	out := make([]domain.Event, len(steps))
	for i, s := range steps {
		if s.p == nil {
			out[i] = bad
		} else {
			out[i] = domain.NewEvent("e"+s.id, s.t, domain.AggKey, s.id, domain.Meta{Time: t0.Add(time.Duration(i) * time.Minute)}, s.p)
		}
		out[i].Seq = uint64(i + 1)
	}
	return out
}

// quarantined is a runner over a key table's projections, as the app wires
// them, that has folded evs one by one or in one run.
func quarantined(t *testing.T, evs []domain.Event, inRuns bool) (*Runner, *Keys, *AuthIndex) {
	t.Helper()
	tbl := NewKeyTable()
	keys, auth := NewKeysIn(tbl), NewAuthIndexIn(tbl)
	r := NewRunner(keys, auth, NewAudit(), tbl.Quarantine())
	if inRuns {
		if err := r.ApplyAll(slices.Clone(evs)); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, ev := range evs {
			if err := r.Apply(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r.Applied() != evs[len(evs)-1].Seq {
		t.Fatalf("applied %d, want %d: the runner stopped", r.Applied(), evs[len(evs)-1].Seq)
	}
	return r, keys, auth
}

// Whatever an event it cannot fold is about, the runner folds on past it
// (k2's revocation after it holds, k4 created after it authenticates) and
// refuses what its subject names.
func TestAnEventThatCannotBeFoldedRefusesWhatItConcernsAndTheRestFoldsOn(t *testing.T) {
	undecodable := func(subject string) domain.Event { return eventlog.Undecodable(5, subject, "bad") }
	unknown := domain.Event{ID: "bad", Type: "KeyRenamed", Version: 1, Tenant: "o1", AggType: domain.AggKey, AggID: "k1", Data: []byte(`{}`)}
	refused := domain.NewEvent("bad", "o1", domain.AggKey, "k1", domain.Meta{Time: t0},
		domain.KeyCreated{KeyID: "k1", Name: "again", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: "not hex"})
	hexName := func(s string) string { return hex.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		bad     domain.Event
		cause   string
		refused []string // of k1, k3, k4, k9, and k2 (which is revoked)
	}{
		{"undecodable, on a key", undecodable("kp.o1.key.k1"), causeUndecodable, []string{"k1"}},
		{"unknown type, on a key", unknown, causeUnknown + " (KeyRenamed v1)", []string{"k1"}},
		{"refused by a projection, on a key", refused, causeRefused + "*projections.Keys", []string{"k1"}},
		{"a key's expiry notice", undecodable("kp.o1.notice.k-1-7d-1767225600"), causeUndecodable, nil},
		{"a key's usage record", undecodable("kp.o1.keyuse.k1"), causeUndecodable, nil},
		{"a notice of k1", undecodable("kp.o1.notice.k1-7d-1767225600"), causeUndecodable, []string{"k1"}},
		{"a notice it cannot place", undecodable("kp.o1.notice.k1"), causeUndecodable, []string{"k1", "k3", "k4"}},
		{"an organization", undecodable("kp.o1.org.o1"), causeUndecodable, []string{"k1", "k3", "k4"}},
		{"a project's realm", undecodable("kp.o1.esrealm.p1"), causeUndecodable, []string{"k1", "k3", "k4"}},
		{"a member", undecodable("kp._sys.user." + hexName("bob")), causeUndecodable, []string{"k3", "k4"}},
		{"a claim of a name", undecodable("kp._sys.orgname." + hexName("acme")), causeUndecodable, nil},
		{"a subject it cannot read", undecodable("elsewhere"), causeUndecodable, []string{"k1", "k2", "k3", "k4", "k9"}},
	}
	for _, tt := range tests {
		for _, inRuns := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: ", one by one", true: ", in a run"}[inRuns], func(t *testing.T) {
				r, keys, auth := quarantined(t, quarantineLog(tt.bad), inRuns)
				want := []Poisoned{{Seq: 5, Subject: eventlog.Subject(tt.bad), Cause: tt.cause}}
				if tt.bad.Tenant == "" {
					want[0].Subject = "kp..."
				}
				if got := r.Quarantine().Events(); !slices.Equal(got, want) {
					t.Fatalf("quarantined %+v, want %+v", got, want)
				}
				if v := auth.Verify([]byte("k2"), []byte("test"), t0); v != Invalidated && !(v == Quarantined && slices.Contains(tt.refused, "k2")) {
					t.Errorf("k2, revoked after the bad event: %v, want invalidated", v)
				}
				for _, id := range []string{"k1", "k3", "k4", "k9"} {
					tenant := domain.TenantID("o1")
					if id == "k9" {
						tenant = "o2"
					}
					_, listed := keys.Get(tenant, domain.KeyID(id))
					_, byID := keys.ByID(domain.KeyID(id))
					v := auth.Verify([]byte(id), []byte("test"), t0)
					authenticates := byID && v == Valid
					if slices.Contains(tt.refused, id) == authenticates || listed != authenticates {
						t.Errorf("%s: verdict %v, by id %v, listed %v; refused should be %v", id, v, byID, listed, slices.Contains(tt.refused, id))
					}
				}
			})
		}
	}
}

// A usage record it cannot read leaves the key's last use unknown: the key
// still authenticates and is listed, but no filter on use takes it, so a
// cleanup of unused keys never revokes it on a guess.
func TestAKeyWhoseUsageRecordCannotBeReadIsLeftOutOfFiltersOnUse(t *testing.T) {
	_, keys, _ := quarantined(t, quarantineLog(eventlog.Undecodable(5, "kp.o1.keyuse.k1", "bad")), false)
	ids := func(f Filter) []domain.KeyID {
		f.Tenant, f.Now = "o1", t0.Add(time.Hour)
		ks, _ := keys.List(f, Page{Size: 100, Sort: "name"})
		var out []domain.KeyID
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return out
	}
	never := true
	if got := ids(Filter{}); !slices.Contains(got, "k1") {
		t.Fatalf("k1 is not listed: %v", got)
	}
	if got := ids(Filter{NeverUsed: &never}); slices.Contains(got, "k1") || !slices.Contains(got, "k3") {
		t.Fatalf("never used: %v, want k3 and not k1 (its use is unknown)", got)
	}
	if got := ids(Filter{UsedBefore: t0.Add(time.Hour)}); slices.Contains(got, "k1") || !slices.Contains(got, "k3") {
		t.Fatalf("used before: %v, want k3 and not k1", got)
	}
}

func TestAQuarantinedSessionOrLoginIsEnded(t *testing.T) {
	tbl := NewKeyTable()
	ended := NewEndedSessions()
	ended.Quarantine = tbl.Quarantine()
	r := NewRunner(ended, tbl.Quarantine())
	if err := r.Apply(eventlog.Undecodable(1, "kp._sys.session.abc", "")); err != nil {
		t.Fatal(err)
	}
	if !ended.Ended("abc") || ended.Ended("abd") {
		t.Fatalf("ended abc %v, abd %v: want only abc", ended.Ended("abc"), ended.Ended("abd"))
	}
	// An event of a login (a revocation of its sessions, say) revokes its
	// sessions, and no other's.
	if err := r.Apply(eventlog.Undecodable(2, "kp._sys.user."+domain.UserAggID("bob"), "")); err != nil {
		t.Fatal(err)
	}
	if !ended.Revoked("bob", t0) || ended.Revoked("carol", t0) {
		t.Fatalf("revoked bob %v, carol %v: want only bob", ended.Revoked("bob", t0), ended.Revoked("carol", t0))
	}
}

// A snapshot carries the quarantine: a runner resumed from it refuses what
// the one that folded the event did, and its digests are the same.
func TestASnapshotCarriesTheQuarantine(t *testing.T) {
	evs := quarantineLog(eventlog.Undecodable(5, "kp.o1.key.k1", "bad"))
	r, _, _ := quarantined(t, evs, false)
	s, _, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	s, err = DecodeSavedState(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	tbl := NewKeyTable()
	keys, auth := NewKeysIn(tbl), NewAuthIndexIn(tbl)
	restored := NewRunner(keys, auth, NewAudit(), tbl.Quarantine())
	if behind, err := restored.Resume(s); err != nil || len(behind) != 0 {
		t.Fatalf("resume: behind %v, %v", behind, err)
	}
	if v := auth.Verify([]byte("k1"), []byte("test"), t0); v != Quarantined {
		t.Fatalf("k1 after a restore: %v, want quarantined", v)
	}
	if _, ok := keys.ByID("k1"); ok {
		t.Fatal("k1 is there after a restore")
	}
	_, want, err := r.Digests()
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := restored.Digests()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("digests after a restore %v, want %v", got, want)
	}
}

// With keys quarantined, verifying any key still does not allocate.
func TestVerifyDoesNotAllocateWithAQuarantine(t *testing.T) {
	_, _, auth := quarantined(t, quarantineLog(eventlog.Undecodable(5, "kp.o1.key.k1", "bad")), true)
	now := t0
	for id, want := range map[string]Verdict{"k1": Quarantined, "k3": Valid} {
		if v := auth.Verify([]byte(id), []byte("test"), now); v != want {
			t.Fatalf("%s: %v, want %v", id, v, want)
		}
		if n := testing.AllocsPerRun(100, func() { auth.Verify([]byte(id), []byte("test"), now) }); n != 0 {
			t.Fatalf("%s: %v allocations per verification", id, n)
		}
	}
}

// eventsAt is a log to read audit entries back from, by sequence.
type eventsAt map[uint64]domain.Event

func (l eventsAt) Event(_ context.Context, seq uint64) (domain.Event, error) { return l[seq], nil }

// The audit trail indexes an event it cannot read and shows it marked
// unreadable, with what its envelope or subject says, instead of failing
// the organization's whole trail.
func TestTheAuditTrailMarksAnEventItCannotRead(t *testing.T) {
	badPayload := domain.Event{ID: "bp", Type: "KeyCreated", Version: 1, Tenant: "o1", AggType: domain.AggKey, AggID: "k1",
		Time: t0, Data: []byte(`{"key_id": [`)}
	log := eventsAt{}
	for i, ev := range []domain.Event{eventlog.Undecodable(0, "kp.o1.key.k1", "bad"), badPayload, trail()[2]} {
		ev.Seq = uint64(i + 1)
		log[ev.Seq] = ev
	}
	r := NewRunner(NewAudit())
	for seq := uint64(1); seq <= 3; seq++ {
		if err := r.Apply(log[seq]); err != nil {
			t.Fatal(err)
		}
	}
	audit := r.appliers[0].(*Audit)
	entries, _, err := audit.Page(context.Background(), log, AuditQuery{Tenant: "o1", Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3: %+v", len(entries), entries)
	}
	for _, e := range entries {
		if e.Unreadable != (e.Seq != 3) || e.KeyID != "k1" {
			t.Errorf("entry %d: unreadable %v, key %q", e.Seq, e.Unreadable, e.KeyID)
		}
	}
	if got := r.Quarantine().Len(); got != 2 {
		t.Errorf("%d events quarantined, want 2", got)
	}
}
