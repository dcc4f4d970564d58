package projections

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

var t0 = time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)

var (
	alice    = domain.Actor{Kind: domain.ActorUser, ID: "alice", Name: "alice"}
	bob      = domain.Actor{Kind: domain.ActorUser, ID: "bob", Name: "bob"}
	aliceKey = domain.Actor{Kind: domain.ActorKey, ID: "k-ci", Name: "ci", User: "alice"}
)

const hashHex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// trail is a small log of two tenants; event i has sequence i+1 and happens
// i minutes after t0.
func trail() []domain.Event {
	type step struct {
		t     domain.TenantID
		agg   string
		id    string
		actor domain.Actor
		p     domain.Payload
	}
	exp := t0.Add(90 * 24 * time.Hour)
	steps := []step{
		{"o1", domain.AggOrg, "o1", alice, domain.OrgCreated{OrgID: "o1", Name: "acme", Owner: "alice"}},
		{"o1", domain.AggOrg, "o1", alice, domain.ProjectCreated{ProjectID: "p1", Name: "web"}},
		{"o1", domain.AggKey, "k1", alice, domain.KeyCreated{KeyID: "k1", Name: "deploy", Scope: domain.ScopeProject, Project: "p1", Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice"}, Hash: hashHex, Expires: &exp}},
		{"o1", domain.AggKey, "k2", bob, domain.KeyCreated{KeyID: "k2", Name: "org-wide", Scope: domain.ScopeOrg, Type: domain.KeyManaged, Owner: domain.Owner{User: "bob"}, Hash: hashHex}},
		{"o1", domain.AggKey, "k1", aliceKey, domain.KeyUpdated{Expires: &exp}},
		{"o2", domain.AggKey, "k9", alice, domain.KeyCreated{KeyID: "k9", Name: "other", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice"}, Hash: hashHex}},
		{"o1", domain.AggKey, "k1", bob, domain.KeyInvalidated{Reason: "leaked"}},
		{"o1", domain.AggIdem, "x", bob, domain.IdempotencyKeyClaimed{KeyID: "k2", Request: "r"}},
		{domain.SystemTenant, domain.AggUser, "62", alice, domain.UserCreated{Name: "b", PasswordHash: "$argon2id$secret"}},
	}
	out := make([]domain.Event, len(steps))
	for i, s := range steps {
		m := domain.Meta{Actor: s.actor, Source: domain.Source{Addr: "10.0.0.7", UserAgent: "curl/8"}, CorrelationID: "req-" + s.id,
			Time: t0.Add(time.Duration(i) * time.Minute)}
		out[i] = domain.NewEvent("e"+s.id, s.t, s.agg, s.id, m, s.p)
		out[i].Seq = uint64(i + 1)
	}
	return out
}

func foldAudit(t *testing.T, evs []domain.Event) *Audit {
	t.Helper()
	a := NewAudit()
	for _, ev := range evs {
		if err := a.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestAuditFindFiltersAndPages(t *testing.T) {
	a := foldAudit(t, trail())
	tests := []struct {
		name string
		q    AuditQuery
		want []uint64
		more bool
	}{
		{"everything of o1, oldest first", AuditQuery{Tenant: "o1", Size: 10}, []uint64{1, 2, 3, 4, 5, 7}, false},
		{"newest first", AuditQuery{Tenant: "o1", Size: 10, Desc: true}, []uint64{7, 5, 4, 3, 2, 1}, false},
		{"another tenant sees only its own", AuditQuery{Tenant: "o2", Size: 10}, []uint64{6}, false},
		{"unknown tenant", AuditQuery{Tenant: "o3", Size: 10}, nil, false},
		{"one key", AuditQuery{Tenant: "o1", KeyID: "k1", Size: 10}, []uint64{3, 5, 7}, false},
		{"a member and the keys acting for her", AuditQuery{Tenant: "o1", Actor: "alice", Size: 10}, []uint64{1, 2, 3, 5}, false},
		{"one key as actor", AuditQuery{Tenant: "o1", Actor: "k-ci", Size: 10}, []uint64{5}, false},
		{"unknown actor", AuditQuery{Tenant: "o1", Actor: "mallory", Size: 10}, nil, false},
		{"types", AuditQuery{Tenant: "o1", Types: []string{"KeyCreated", "KeyInvalidated"}, Size: 10}, []uint64{3, 4, 7}, false},
		{"unknown type", AuditQuery{Tenant: "o1", Types: []string{"Nope"}, Size: 10}, nil, false},
		{"project, including updates and revocations of its keys", AuditQuery{Tenant: "o1", Project: "p1", Size: 10}, []uint64{2, 3, 5, 7}, false},
		{"time range", AuditQuery{Tenant: "o1", Since: t0.Add(2 * time.Minute), Until: t0.Add(6 * time.Minute), Size: 10}, []uint64{3, 4, 5}, false},
		{"first page", AuditQuery{Tenant: "o1", Size: 2}, []uint64{1, 2}, true},
		{"page after a cursor", AuditQuery{Tenant: "o1", Size: 2, After: 2}, []uint64{3, 4}, true},
		{"last page", AuditQuery{Tenant: "o1", Size: 2, After: 4}, []uint64{5, 7}, false},
		{"newest first after a cursor", AuditQuery{Tenant: "o1", Size: 2, Desc: true, After: 5}, []uint64{4, 3}, true},
		{"cursor on another tenant's sequence", AuditQuery{Tenant: "o1", Size: 10, After: 6}, []uint64{7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := a.Find(tt.q)
			if !slices.Equal(got, tt.want) || more != tt.more {
				t.Fatalf("Find = %v more=%v, want %v more=%v", got, more, tt.want, tt.more)
			}
		})
	}
}

func TestAuditEntriesShowWhoWhatWhenAndWhereButNoSecret(t *testing.T) {
	evs := trail()
	a := foldAudit(t, evs)
	e, err := AuditEntryOf(evs[2], a.ProjectOfKey)
	if err != nil {
		t.Fatal(err)
	}
	if e.Actor != alice || e.Source.Addr != "10.0.0.7" || e.Source.UserAgent != "curl/8" || e.CorrelationID != "req-k1" ||
		!e.Time.Equal(t0.Add(2*time.Minute)) || e.KeyID != "k1" || e.Project != "p1" || e.Change.Name != "deploy" ||
		e.Change.Scope != domain.ScopeProject || e.Change.Expiration == "" {
		t.Fatalf("KeyCreated entry = %+v", e)
	}
	rev, _ := AuditEntryOf(evs[6], a.ProjectOfKey)
	if rev.Project != "p1" || rev.Change.Reason != "leaked" || rev.Actor != bob {
		t.Fatalf("KeyInvalidated entry = %+v", rev)
	}
	up, _ := AuditEntryOf(evs[4], a.ProjectOfKey)
	if !slices.Equal(up.Change.Fields, []string{"expiration"}) || up.Actor.User != "alice" {
		t.Fatalf("KeyUpdated entry = %+v", up)
	}
	limits := []domain.RoleDescriptors{{}}
	for _, c := range []struct {
		p    domain.Payload
		want AuditChange
	}{
		{domain.KeyUpdated{LimitedBy: &limits}, AuditChange{Fields: []string{"limited_by"}}},
		{domain.KeyExpired{Expires: t0}, AuditChange{Expiration: "2026-03-10T14:00:00Z"}},
	} {
		e, err := AuditEntryOf(domain.NewEvent("x", "o1", domain.AggKey, "k1", domain.Meta{Time: t0}, c.p), a.ProjectOfKey)
		if err != nil || fmt.Sprint(e.Change) != fmt.Sprint(c.want) || e.Project != "p1" {
			t.Fatalf("%s entry = %+v, %v; want change %+v", c.p.EventType(), e, err, c.want)
		}
	}
	never, _ := AuditEntryOf(evs[3], a.ProjectOfKey)
	if never.Change.Expiration != "never" || never.Project != "" {
		t.Fatalf("a key without expiration: %+v", never)
	}
	for _, ev := range evs {
		e, err := AuditEntryOf(ev, a.ProjectOfKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), hashHex) || strings.Contains(string(b), "argon2id") {
			t.Fatalf("entry %d shows a hash: %s", ev.Seq, b)
		}
	}
}

func TestAuditIndexesOnlyOrganizationEvents(t *testing.T) {
	a := foldAudit(t, trail())
	if n := a.Len(); n != 7 {
		t.Fatalf("indexed %d events, want 7 (no idempotency claims, no system events)", n)
	}
}

func TestAuditChunksKeepOrderAcrossBoundaries(t *testing.T) {
	a := NewAudit()
	n := 2*auditChunk + 10
	for i := 1; i <= n; i++ {
		ev := domain.NewEvent("e", "o1", domain.AggKey, "k", domain.Meta{Actor: alice, Time: t0}, domain.KeyInvalidated{})
		ev.Seq = uint64(2 * i)
		if err := a.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	got, more := a.Find(AuditQuery{Tenant: "o1", After: uint64(2*auditChunk - 1), Size: 3})
	if !slices.Equal(got, []uint64{2 * auditChunk, 2*auditChunk + 2, 2*auditChunk + 4}) || !more {
		t.Fatalf("page across a chunk boundary = %v more=%v", got, more)
	}
	got, _ = a.Find(AuditQuery{Tenant: "o1", Desc: true, Size: 2})
	if !slices.Equal(got, []uint64{uint64(2 * n), uint64(2*n - 2)}) {
		t.Fatalf("newest = %v", got)
	}
}

func TestAuditFilesNoticesUnderTheirKey(t *testing.T) {
	evs := trail()[:3] // organization, project, key k1 in p1
	exp := t0.Add(90 * 24 * time.Hour)
	w := domain.NoticeWindow(7 * 24 * time.Hour)
	notice := domain.NewEvent("n1", "o1", domain.AggNotice, domain.NoticeAggID("k1", w, exp),
		domain.Meta{Actor: domain.Actor{Kind: domain.ActorSystem, ID: "keyplane"}, Time: t0.Add(time.Hour)},
		domain.ExpiryNoticeRecorded{KeyID: "k1", Window: w, Expires: exp})
	notice.Seq = 4
	a := foldAudit(t, append(evs, notice))
	for _, q := range []AuditQuery{{Tenant: "o1", KeyID: "k1", Size: 10}, {Tenant: "o1", Project: "p1", Size: 10}} {
		if got, _ := a.Find(q); !slices.Contains(got, 4) {
			t.Errorf("%+v: %v, want the notice (4) among them", q, got)
		}
	}
}

func TestAuditEntriesOfMembersSayWhomButNoInvitationToken(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	hash := strings.Repeat("9f", 32)
	byAlice := domain.Meta{Time: t0, Actor: alice}
	for _, c := range []struct {
		p    domain.Payload
		want AuditChange
	}{
		{domain.InvitationCreated{ID: "i1", Email: "bob@example.com", Role: domain.RoleAdmin, TokenHash: hash, Expires: t0},
			AuditChange{Invitation: "i1", Email: "bob@example.com", Role: domain.RoleAdmin, Expiration: t0.Format(time.RFC3339Nano)}},
		{domain.InvitationAccepted{ID: "i1", User: "bob", Role: domain.RoleAdmin, Email: "bob@example.com"},
			AuditChange{Invitation: "i1", User: "bob", Role: domain.RoleAdmin, Email: "bob@example.com"}},
		{domain.InvitationRevoked{ID: "i1"}, AuditChange{Invitation: "i1"}},
		{domain.MemberRemoved{User: "bob", Role: domain.RoleAdmin}, AuditChange{User: "bob", Role: domain.RoleAdmin}},
	} {
		e, err := AuditEntryOf(domain.NewEvent("x", "o1", domain.AggOrg, "o1", byAlice, c.p), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(e)
		if e.Actor.ID != "alice" || !reflect.DeepEqual(e.Change, c.want) || strings.Contains(string(raw), hash) {
			t.Errorf("%s: %s", c.p.EventType(), raw)
		}
	}
}

// An audit trail on a key table shared with other projections finds a
// key's entries and its project by the slot the table gave it, whichever
// projection numbered the key first, after a fold and after a restore into
// a table numbered in another order; an id never seen finds nothing, and
// a tenant finds none of another's keys' entries.
func TestAuditOnASharedTableFindsEachKeysEntriesWhoeverNumberedItFirst(t *testing.T) {
	evs := trail()
	evs = append(evs, noticeRecordedFor(t, "o1", "k1", uint64(len(evs)+1)))
	table := NewKeyTable()
	table.slotFor("another projection's key")
	folded := NewAuditIn(table)
	fold(t, []Snapshotter{folded}, evs)
	other := NewKeyTable()
	for _, id := range []domain.KeyID{"k9", "zz", "k2", "k1"} {
		other.slotFor(id)
	}
	restored := restoreInto(t, folded, NewAuditIn(other))
	for name, a := range map[string]*Audit{"folded": folded, "restored": restored} {
		k1, _ := a.Find(AuditQuery{Tenant: "o1", KeyID: "k1", Size: 10})
		p1, _ := a.Find(AuditQuery{Tenant: "o1", Project: "p1", Size: 10})
		if want := []uint64{3, 5, 7, 10}; !slices.Equal(k1, want) || !slices.Equal(p1, append([]uint64{2}, want...)) {
			t.Fatalf("%s: entries of k1 %v, of p1 %v", name, k1, p1)
		}
		if a.ProjectOfKey("k1") != "p1" || a.ProjectOfKey("k2") != "" || a.ProjectOfKey("nope") != "" {
			t.Fatalf("%s: projects of keys k1 %q, k2 %q", name, a.ProjectOfKey("k1"), a.ProjectOfKey("k2"))
		}
		if got, _ := a.Find(AuditQuery{Tenant: "o1", KeyID: "zz", Size: 10}); len(got) != 0 {
			t.Fatalf("%s: a key with no events has entries %v", name, got)
		}
		if got, _ := a.Find(AuditQuery{Tenant: "o2", KeyID: "k1", Size: 10}); len(got) != 0 {
			t.Fatalf("%s: another tenant finds k1's entries %v", name, got)
		}
	}
}

// noticeRecordedFor is an expiry notice about key id of tenant t, at seq.
func noticeRecordedFor(t *testing.T, tenant domain.TenantID, id domain.KeyID, seq uint64) domain.Event {
	t.Helper()
	exp := t0.Add(90 * 24 * time.Hour)
	w := domain.NoticeWindow(7 * 24 * time.Hour)
	ev := domain.NewEvent("n", tenant, domain.AggNotice, domain.NoticeAggID(id, w, exp), domain.Meta{Actor: alice, Time: t0},
		domain.ExpiryNoticeRecorded{KeyID: id, Window: w, Expires: exp, Recipients: []string{"a@example.com"}})
	ev.Seq = seq
	return ev
}

// A snapshot a released keyplane wrote (audit@1, naming each record's key
// by id; the fixture holds the fold of trail and a notice about k1) still
// restores, through the runner, into the trail a fold of the same events
// gives: the same answers, and the same snapshot of the current version.
func TestAReleasedAuditSnapshotStillRestores(t *testing.T) {
	old, err := os.ReadFile("testdata/audit@1.bin")
	if err != nil {
		t.Fatal(err)
	}
	evs := trail()
	evs = append(evs, noticeRecordedFor(t, "o1", "k1", uint64(len(evs)+1)))
	folded := NewAudit()
	fold(t, []Snapshotter{folded}, evs)
	restored := NewAuditIn(NewKeyTable())
	behind, err := NewRunner(restored).Resume(SavedState{Seq: 10, Parts: map[string][]byte{"audit@1": old}})
	if err != nil || len(behind) != 0 {
		t.Fatalf("resume from an audit@1 part: %v, %d projections behind", err, len(behind))
	}
	for _, q := range []AuditQuery{{Tenant: "o1", Size: 20}, {Tenant: "o1", KeyID: "k1", Size: 20}, {Tenant: "o1", Project: "p1", Size: 20},
		{Tenant: "o2", Size: 20}, {Tenant: "o2", KeyID: "k9", Size: 20}} {
		got, _ := restored.Find(q)
		want, _ := folded.Find(q)
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Fatalf("%+v: restored finds %v, folded %v", q, got, want)
		}
	}
	if d1, d2 := digests(t, []Snapshotter{folded}), digests(t, []Snapshotter{restored}); !reflect.DeepEqual(d1, d2) {
		t.Fatal("the restored trail snapshots differently from the folded one")
	}
}
