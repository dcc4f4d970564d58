package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// placedKeys folds n events about keys of two tenants, two projects and
// both scopes, names, creations, expirations and uses often tied: keys
// created (some of them again in the log with another name, creation,
// project, scope or owner), updated to expire at another time or never,
// rotated, used, revoked; some expiring past 2262 (timeKey's inexact
// numbers). fold adds more.
func placedKeys(t *testing.T, rng *rand.Rand, n int) (*Keys, func(ks *Keys, i int)) {
	t.Helper()
	seq := uint64(0)
	names := []string{"a", "b", "ab", "c", ""}
	created := map[domain.KeyID]domain.TenantID{}
	var made []domain.KeyID
	expiry := func() *time.Time {
		var e time.Time
		switch rng.IntN(40) {
		case 0, 1, 2, 3, 4:
			return nil
		case 5:
			e = time.Date(2400+rng.IntN(2), 1, 1, 0, 0, 0, 0, time.UTC)
		case 6:
			e = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		default:
			e = t0.Add(time.Duration(rng.IntN(4)) * time.Hour)
		}
		return &e
	}
	apply := func(ks *Keys, ev domain.Event) error {
		seq++
		ev.Seq = seq
		return ks.Apply(ev)
	}
	fold := func(ks *Keys, i int) {
		at := domain.Meta{Time: t0.Add(time.Duration(rng.IntN(4)) * time.Second)}
		if len(made) > 0 && rng.IntN(2) == 0 {
			id := made[rng.IntN(len(made))]
			tenant := created[id]
			var p domain.Payload
			switch rng.IntN(5) {
			case 0:
				p = domain.KeyUpdated{Expires: expiry()}
				if p.(domain.KeyUpdated).Expires == nil {
					p = domain.KeyUpdated{NeverExpires: true}
				}
			case 1:
				e := t0.Add(time.Duration(rng.IntN(4)) * time.Hour)
				p = domain.KeyRotated{RotatedTo: made[rng.IntN(len(made))], Expires: e}
			case 2:
				p = domain.KeyInvalidated{}
			default:
				used := t0.Add(time.Duration(rng.IntN(6)) * time.Hour)
				_ = apply(ks, domain.NewEvent(fmt.Sprint("u", seq), tenant, domain.AggKeyUse, string(id), at, domain.KeyUsed{KeyID: id, Used: used}))
				return
			}
			_ = apply(ks, domain.NewEvent(fmt.Sprint("e", seq), tenant, domain.AggKey, string(id), at, p)) // refused: the key stays as it was
			return
		}
		id := domain.KeyID(fmt.Sprintf("k%04d", rng.IntN(10000)))
		tenant := domain.TenantID([]string{"o1", "o2"}[rng.IntN(2)])
		if len(made) > 0 && rng.IntN(4) == 0 { // created again
			id = made[rng.IntN(len(made))]
		}
		if was, ok := created[id]; ok {
			tenant = was
		}
		c := domain.KeyCreated{KeyID: id, Name: names[rng.IntN(len(names))], Scope: domain.ScopeProject, Expires: expiry(),
			Project: domain.ProjectID([]string{"p1", "p2"}[rng.IntN(2)]), Owner: domain.Owner{User: []string{"alice", "bob", "carol"}[rng.IntN(3)], Realm: "native"}, Hash: hashHex}
		if rng.IntN(4) == 0 {
			c.Scope, c.Project = domain.ScopeOrg, ""
		}
		if err := apply(ks, domain.NewEvent(fmt.Sprint("e", seq), tenant, domain.AggKey, string(id), at, c)); err != nil {
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
// placement alone and sorted by creation, name, owner, expiration or last
// use, read from the tenant's order (listInOrder), answers as a scan of
// every key does: the page, its order and ties, the total, at every From
// (past the end too), Size 0, after any cursor, either way; after keys
// were created again, updated, rotated, used and revoked, after a
// restore, and after more came to the restored list. A sort by status
// stays a scan.
func TestListsOfAPlacementInOrderAnswerAsTheScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 7))
	if InOrder(Filter{Tenant: "o1"}, "status") || InOrder(Filter{Tenant: "o1"}, "-status") {
		t.Fatal("a sort by status is read in order")
	}
	// Lists are read between folds too: indexes read (built) once, then
	// changed, hold stale entries.
	ks, fold := placedKeys(t, rng, 100)
	adopted := 0
	for i := range 10 {
		for range 60 {
			fold(ks, i)
		}
		if i%2 == 1 {
			// Indexes left lazy are built by a snapshot, on its copy,
			// and taken by the list with what came meanwhile.
			for _, l := range ks.byTenant {
				l.lazyIndexes()
			}
			encode := ks.Capture()
			for range 30 {
				fold(ks, i)
			}
			if _, err := encode(); err != nil {
				t.Fatal(err)
			}
			for _, l := range ks.byTenant {
				for j := range listIndexes {
					if l.built(j) {
						adopted++
					}
				}
			}
		}
		listsAnswerAsTheScan(t, rng, "folding", ks, 200)
	}
	if adopted == 0 {
		t.Fatal("no index a snapshot built was taken by its list")
	}
	restored := restoreInto(t, ks, NewKeys())
	grown := restoreInto(t, ks, NewKeys())
	listsAnswerAsTheScan(t, rng, "restored", restored, 2000)
	for i := range 6 {
		for range 40 {
			fold(grown, 1000+i)
		}
		listsAnswerAsTheScan(t, rng, "grown", grown, 200)
	}
	listsAnswerAsTheScan(t, rng, "folded", ks, 2000)
}

// listsAnswerAsTheScan lists n random placements, sorts and pages of x,
// read in order and scanned, and fails unless they are the same.
func listsAnswerAsTheScan(t *testing.T, rng *rand.Rand, name string, x *Keys, n int) {
	t.Helper()
	now := t0.Add(time.Hour)
	for range n {
		f := Filter{Tenant: domain.TenantID([]string{"o1", "o2", "o3"}[rng.IntN(3)]), Now: now}
		switch rng.IntN(4) {
		case 0:
			f.Project = domain.ProjectID([]string{"p1", "p2"}[rng.IntN(2)])
		case 1:
			f.OrgOnly = true
		case 2:
			f.ProjectOnly = true
		}
		sorts := []string{"created", "name", "owner", "expiration", "last_used"}
		p := Page{Sort: sorts[rng.IntN(len(sorts))], From: rng.IntN(5), Size: rng.IntN(6)}
		if rng.IntN(2) == 0 {
			p.Sort = "-" + p.Sort
		}
		switch rng.IntN(5) {
		case 0:
			p.From = rng.IntN(300)
		case 1:
			p.Size = rng.IntN(300) // every key: a key listed twice shows
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
