package tenants

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// orgEvents creates n organizations with a project each, and a second
// project in the first one.
func orgEvents(n int) (evs []domain.Event, projects []domain.ProjectID) {
	seq := uint64(0)
	add := func(org domain.TenantID, p domain.Payload) {
		seq++
		ev := domain.NewEvent(uuid.NewString(), org, domain.AggOrg, string(org), domain.Meta{}, p)
		ev.Seq = seq
		evs = append(evs, ev)
	}
	var orgs []domain.TenantID
	for i := range n {
		org := commands.Random{}.TenantID()
		orgs = append(orgs, org)
		add(org, domain.OrgCreated{OrgID: org, Name: "org" + strconv.Itoa(i), Owner: "ann"})
		p := commands.Random{}.ProjectID()
		projects = append(projects, p)
		add(org, domain.ProjectCreated{ProjectID: p, Name: "default"})
	}
	p := commands.Random{}.ProjectID()
	projects = append(projects, p)
	add(orgs[0], domain.ProjectCreated{ProjectID: p, Name: "second"})
	return evs, projects
}

func TestDirectoryFindsAProjectByID(t *testing.T) {
	evs, projects := orgEvents(3)
	folded, restored := foldAndRestore(t, NewDirectory, evs)
	for name, d := range map[string]*Directory{"folded": folded, "restored": restored} {
		for i, id := range projects {
			o, pr, ok := d.Project(id)
			owner := i
			if i == len(projects)-1 {
				owner = 0 // the second project of the first organization
			}
			if !ok || pr.ID != id || o.Name != "org"+strconv.Itoa(owner) {
				t.Errorf("%s: project %d: %v %+v in %+v, want it in org%d", name, i, ok, pr, o, owner)
			}
		}
		if _, _, ok := d.Project(commands.Random{}.ProjectID()); ok {
			t.Errorf("%s: an unknown project id was found", name)
		}
		if _, _, ok := d.Project(""); ok {
			t.Errorf("%s: the empty project id was found", name)
		}
	}
}

// BenchmarkProjectByID finds a project by id among 10,000 organizations:
// with the directory's index, and by a scan of Orgs() (how a request under
// /projects/{id} found it before), the baseline.
func BenchmarkProjectByID(b *testing.B) {
	evs, projects := orgEvents(10_000)
	d := fold(b, NewDirectory(), evs)
	id := projects[len(projects)/2]
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if _, _, ok := d.Project(id); !ok {
				b.Fatal("not found")
			}
		}
	})
	b.Run("scan-of-Orgs", func(b *testing.B) {
		for b.Loop() {
			found := false
			for _, o := range d.Orgs() {
				if _, found = o.Projects[id]; found {
					break
				}
			}
			if !found {
				b.Fatal("not found")
			}
		}
	})
}

func TestDirectoryFindsAPendingInvitationByItsTokenAndFoldsLogins(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	org := commands.Random{}.TenantID()
	hash := "b6f1bd3c1f0d0f5e2b1f0d8e1c9c2a4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c" // a token's SHA-256 (commands.InvitationTokenHash)
	var evs []domain.Event
	add := func(agg, id string, p domain.Payload) {
		tenant := org
		if agg == domain.AggUser {
			tenant = domain.SystemTenant
		}
		ev := domain.NewEvent(uuid.NewString(), tenant, agg, id, domain.Meta{Time: at}, p)
		ev.Seq = uint64(len(evs) + 1)
		evs = append(evs, ev)
	}
	add(domain.AggOrg, string(org), domain.OrgCreated{OrgID: org, Name: "acme", Owner: "ann"})
	add(domain.AggOrg, string(org), domain.InvitationCreated{ID: "inv1", Email: "cy@example.com", Role: domain.RoleViewer,
		TokenHash: hash, Expires: at.Add(domain.InvitationLifetime)})
	add(domain.AggUser, domain.UserAggID("cy"), domain.UserCreated{Name: "cy", PasswordHash: "h1"})
	add(domain.AggUser, domain.UserAggID("cy"), domain.PasswordResetForced{Org: org})
	folded, restored := foldAndRestore(t, NewDirectory, evs)
	for name, d := range map[string]*Directory{"folded": folded, "restored": restored} {
		o, inv, ok := d.Invitation(hash)
		if !ok || o.ID != org || inv.Email != "cy@example.com" {
			t.Fatalf("%s: invitation not found by its token's hash", name)
		}
		if u, _ := d.User("cy"); !u.MustChangePassword || u.PasswordHash != "h1" {
			t.Fatalf("%s: login under a forced reset: %+v", name, u)
		}
	}
	add(domain.AggOrg, string(org), domain.InvitationAccepted{ID: "inv1", User: "cy", Role: domain.RoleViewer, Email: "cy@example.com"})
	add(domain.AggUser, domain.UserAggID("cy"), domain.PasswordChanged{PasswordHash: "h2"})
	d := fold(t, NewDirectory(), evs)
	if _, _, ok := d.Invitation(hash); ok {
		t.Fatal("an accepted invitation is still found")
	}
	if u, _ := d.User("cy"); u.MustChangePassword || u.PasswordHash != "h2" {
		t.Fatalf("after the change: %+v", u)
	}
	if r, _ := d.RoleOf(org, "cy"); r != domain.RoleViewer {
		t.Fatalf("cy's role: %q", r)
	}
}

func TestAKeyPolicySurvivesTheDirectorysSnapshot(t *testing.T) {
	org := commands.Random{}.TenantID()
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	pol := domain.KeyPolicySet{DefaultExpiration: "30d", MaxExpiration: "1y", AllowNever: new(false), MaxActiveKeys: 5, MaxGrace: "0s"}
	var evs []domain.Event
	for i, p := range []domain.Payload{domain.OrgCreated{OrgID: org, Name: "acme", Owner: "ann"}, pol} {
		ev := domain.NewEvent(uuid.NewString(), org, domain.AggOrg, string(org), domain.Meta{Time: at}, p)
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	folded, restored := foldAndRestore(t, NewDirectory, evs)
	for name, d := range map[string]*Directory{"folded": folded, "restored": restored} {
		o, _ := d.Org(string(org))
		if got := o.Policy; got.MaxExpiration != "1y" || got.NeverAllowed() || got.MaxActiveKeys != 5 || got.MaxGrace != "0s" || got.DefaultExpiration != "30d" {
			t.Fatalf("%s: policy %+v", name, got)
		}
	}
}
