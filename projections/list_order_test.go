package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// placedKeys folds n keys of two tenants, two projects and both scopes,
// names and creations often tied, some of them created again in the log
// with another name, creation, project, scope or owner; fold adds more.
func placedKeys(t *testing.T, rng *rand.Rand, n int) (*Keys, func(ks *Keys, i int)) {
	t.Helper()
	seq := uint64(0)
	names := []string{"a", "b", "ab", "c", ""}
	created := map[domain.KeyID]domain.TenantID{}
	var made []domain.KeyID
	fold := func(ks *Keys, i int) {
		id := domain.KeyID(fmt.Sprintf("k%04d", rng.IntN(10000)))
		tenant := domain.TenantID([]string{"o1", "o2"}[rng.IntN(2)])
		if len(made) > 0 && rng.IntN(4) == 0 { // created again
			id = made[rng.IntN(len(made))]
		}
		if was, ok := created[id]; ok {
			tenant = was
		}
		c := domain.KeyCreated{KeyID: id, Name: names[rng.IntN(len(names))], Scope: domain.ScopeProject,
			Project: domain.ProjectID([]string{"p1", "p2"}[rng.IntN(2)]), Owner: domain.Owner{User: []string{"alice", "bob"}[rng.IntN(2)], Realm: "native"}, Hash: hashHex}
		if rng.IntN(4) == 0 {
			c.Scope, c.Project = domain.ScopeOrg, ""
		}
		seq++
		ev := domain.NewEvent(fmt.Sprint("e", seq), tenant, domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(rng.IntN(4)) * time.Second)}, c)
		ev.Seq = seq
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
		if _, ok := created[id]; !ok {
			created[id] = tenant
			made = append(made, id)
		}
	}
	ks := NewKeys()
	for i := range n {
		fold(ks, i)
	}
	return ks, fold
}

// TestListsOfAPlacementInOrderAnswerAsTheScan: a list filtered by
// placement alone and sorted by creation or name, read from the tenant's
// order (listInOrder), answers as a scan of every key does: the page, its
// order and ties, the total, at every From (past the end too), Size 0,
// after any cursor, either way; after keys are created again in the log,
// after a restore, and after more keys came to the restored list.
func TestListsOfAPlacementInOrderAnswerAsTheScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 7))
	ks, fold := placedKeys(t, rng, 300)
	restored := restoreInto(t, ks, NewKeys())
	grown := restoreInto(t, ks, NewKeys())
	for i := range 60 {
		fold(grown, 1000+i)
	}
	now := t0.Add(time.Hour)
	for name, x := range map[string]*Keys{"folded": ks, "restored": restored, "grown": grown} {
		for range 1500 {
			f := Filter{Tenant: domain.TenantID([]string{"o1", "o2", "o3"}[rng.IntN(3)]), Now: now}
			switch rng.IntN(4) {
			case 0:
				f.Project = domain.ProjectID([]string{"p1", "p2"}[rng.IntN(2)])
			case 1:
				f.OrgOnly = true
			case 2:
				f.ProjectOnly = true
			}
			p := Page{Sort: []string{"created", "-created", "name", "-name"}[rng.IntN(4)], From: rng.IntN(5), Size: rng.IntN(6)}
			if rng.IntN(5) == 0 {
				p.From = rng.IntN(300)
			}
			if all, _ := scanList(x, f, Page{Sort: p.Sort, Size: -1}); len(all) > 0 && rng.IntN(3) == 0 {
				at := PositionOf(&all[rng.IntN(len(all))], p.Sort, now)
				p.After = &at
			}
			if !InOrder(f, p.Sort) {
				t.Fatalf("%+v is not read in order", f)
			}
			got, gotTotal := x.List(f, p)
			want, wantTotal := scanList(x, f, p)
			if gotTotal != wantTotal || !reflect.DeepEqual(ids(got), ids(want)) {
				t.Fatalf("%s %+v %+v: in order %d %v, scanned %d %v", name, f, p, gotTotal, ids(got), wantTotal, ids(want))
			}
		}
	}
}
