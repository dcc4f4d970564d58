package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// randomKeys folds n keys of random names (from a few parts, so that
// prefixes are shared), owners, projects, expirations and revocations
// into a key list and a key index, one event at a time as the log does.
func randomKeys(t *testing.T, rng *rand.Rand, n int) (*Keys, *KeyIndex) {
	t.Helper()
	ks, ix := NewKeys(), NewKeyIndex()
	parts := []string{"a", "ab", "b", "key-1", "key-12", "x", ""}
	seq := uint64(0)
	fold := func(tenant domain.TenantID, id domain.KeyID, p domain.Payload) {
		seq++
		ev := domain.NewEvent(fmt.Sprint("e", seq), tenant, domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(rng.IntN(5)) * time.Second)}, p)
		ev.Seq = seq
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		id := domain.KeyID(fmt.Sprintf("k%03d", rng.IntN(1000)*1000+i))
		tenant := domain.TenantID([]string{"o1", "o2"}[rng.IntN(2)])
		c := domain.KeyCreated{KeyID: id, Name: parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))], Scope: domain.ScopeProject,
			Project: domain.ProjectID([]string{"p1", "p2"}[rng.IntN(2)]), Owner: domain.Owner{User: []string{"alice", "bob"}[rng.IntN(2)], Realm: "native"}, Hash: hashHex}
		if rng.IntN(2) == 0 {
			exp := t0.Add(time.Duration(rng.IntN(20)) * time.Hour)
			c.Expires = &exp
		}
		fold(tenant, id, c)
		switch rng.IntN(5) {
		case 0:
			fold(tenant, id, domain.KeyInvalidated{Reason: "x"})
		case 1:
			exp := t0.Add(time.Duration(rng.IntN(20)) * time.Hour)
			fold(tenant, id, domain.KeyUpdated{Expires: &exp})
		}
	}
	return ks, ix
}

// TestIndexedAndScannedListsAnswerAlike: over random keys and random
// filters, the console list read from the name and owner indexes answers exactly what
// a scan of every key of the tenant answers: the page, its order, the
// total; so do the query API's records, indexed and scanned.
func TestIndexedAndScannedListsAnswerAlike(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 2))
	ks, ix := randomKeys(t, rng, 600)
	now := t0.Add(10 * time.Hour)
	patterns := []string{"a*", "ab*", "key-1*", "key-12", "b?*", "x", "key-1*b", "a", "zz*", "key-12key-1*", "", "*1"}
	statuses := []domain.KeyStatus{"", domain.StatusActive, domain.StatusExpired, domain.StatusInvalidated}
	sorts := []string{"name", "-name", "created", "-created", "expiration", "-expiration", "owner", "status", "id", "last_used", "-last_used"}
	byOwner := 0
	for range 600 {
		f := Filter{Tenant: domain.TenantID([]string{"o1", "o2"}[rng.IntN(2)]), Name: patterns[rng.IntN(len(patterns))],
			Status: statuses[rng.IntN(len(statuses))], Now: now}
		if rng.IntN(2) == 0 {
			f.Project = "p1"
		}
		if rng.IntN(3) == 0 {
			f.Owner = "bob"
		}
		p := Page{Sort: sorts[rng.IntN(len(sorts))], From: rng.IntN(10), Size: rng.IntN(40)}
		if all, _ := scanList(ks, f, Page{Sort: p.Sort, Size: -1}); len(all) > 0 && rng.IntN(3) == 0 {
			at := PositionOf(&all[rng.IntN(len(all))], p.Sort, now) // a cursor
			p.After = &at
		}
		if LiteralPrefix(f.Name) == "" {
			byOwner++
			if f.Owner != "" && !f.Indexed() {
				t.Fatalf("%+v is not served by the owner index", f)
			}
		}
		got, gotTotal := ks.List(f, p)
		want, wantTotal := scanList(ks, f, p)
		if gotTotal != wantTotal || !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v %+v: indexed %d %v, scanned %d %v", f, p, gotTotal, ids(got), wantTotal, ids(want))
		}
		prefix := LiteralPrefix(f.Name)
		named := ix.RecordsNamed(f.Tenant, "p1", prefix, nil)
		var scanned []*KeyRecord
		for _, r := range ix.Records(f.Tenant, "p1", nil) {
			if strings.HasPrefix(r.Name, prefix) {
				scanned = append(scanned, r)
			}
		}
		if !slices.Equal(named, scanned) {
			t.Fatalf("records named %q: indexed %d, scanned %d", prefix, len(named), len(scanned))
		}
	}
	if byOwner < 50 {
		t.Fatalf("only %d lists without a name prefix", byOwner)
	}
}

// scanList is List reading every key of the tenant, as it did before the
// name index.
func scanList(ks *Keys, f Filter, p Page) ([]domain.Key, int) {
	return ks.listOf(ks.snapshotOf(f.Tenant), f, p)
}

func ids(ks []domain.Key) []domain.KeyID {
	out := make([]domain.KeyID, len(ks))
	for i := range ks {
		out[i] = ks[i].ID
	}
	return out
}

// TestARestoredIndexAnswersAsTheFoldedOne: the name index is rebuilt from
// a snapshot, not stored in it, and answers alike.
func TestARestoredIndexAnswersAsTheFoldedOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 3))
	ks, ix := randomKeys(t, rng, 300)
	rks, rix := restoreInto(t, ks, NewKeys()), restoreInto(t, ix, NewKeyIndex())
	for _, owner := range []string{"bob", "alice", "nobody"} {
		f := Filter{Tenant: "o1", Owner: owner, Now: t0}
		a, an := ks.List(f, Page{Sort: "name", Size: 1000})
		b, bn := rks.List(f, Page{Sort: "name", Size: 1000})
		if an != bn || !reflect.DeepEqual(ids(a), ids(b)) {
			t.Fatalf("owner %s: folded %v, restored %v", owner, ids(a), ids(b))
		}
	}
	for _, prefix := range []string{"a", "ab", "key-1", "key-12", "x", "b"} {
		f := Filter{Tenant: "o1", Name: prefix + "*", Now: t0}
		a, an := ks.List(f, Page{Sort: "name", Size: 1000})
		b, bn := rks.List(f, Page{Sort: "name", Size: 1000})
		if an != bn || !reflect.DeepEqual(ids(a), ids(b)) {
			t.Fatalf("%s: folded %v, restored %v", prefix, ids(a), ids(b))
		}
		if x, y := ix.RecordsNamed("o1", "p1", prefix, nil), rix.RecordsNamed("o1", "p1", prefix, nil); len(x) != len(y) || len(x) > 0 && x[0].ID != y[0].ID {
			t.Fatalf("%s: folded %d records, restored %d", prefix, len(x), len(y))
		}
	}
}

// TestTheCreationIndexsEndsHoldEveryPageOfTheOldestAndNewest: whatever
// ties in the millisecond, the records RecordsAtEnds gives hold the k
// oldest (creation, then id) and the k newest (creation descending, then
// id, as the query API breaks ties), and are in creation order.
func TestTheCreationIndexsEndsHoldEveryPageOfTheOldestAndNewest(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 5))
	_, ix := randomKeys(t, rng, 500)
	all := ix.Records("o1", "p1", nil)
	for _, newest := range []bool{false, true} {
		order := slices.Clone(all)
		slices.SortFunc(order, func(a, b *KeyRecord) int {
			c := a.Created - b.Created
			if newest {
				c = -c
			}
			if c != 0 {
				return int(c)
			}
			return strings.Compare(string(a.ID), string(b.ID))
		})
		for k := range len(all) + 2 {
			got, total := ix.RecordsAtEnds("o1", "p1", k, newest, nil)
			if total != len(all) {
				t.Fatalf("total %d, want %d", total, len(all))
			}
			for _, r := range order[:min(k, len(order))] {
				if !slices.Contains(got, r) {
					t.Fatalf("newest %v, k %d: %s (created %d) is missing", newest, k, r.ID, r.Created)
				}
			}
			if !slices.IsSortedFunc(got, func(a, b *KeyRecord) int { return slices.Index(all, a) - slices.Index(all, b) }) {
				t.Fatalf("newest %v, k %d: not in creation order", newest, k)
			}
		}
	}
}

// TestARestoredIndexIsBuiltOnceWhileKeysKeepComing: readers of a restored
// list build its lazy name index while folds add keys; every reader
// finds every key of the prefix there was when it read (go test -race).
func TestARestoredIndexIsBuiltOnceWhileKeysKeepComing(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 6))
	ks, _ := randomKeys(t, rng, 300)
	restored := restoreInto(t, ks, NewKeys())
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				f := Filter{Tenant: "o1", Name: "new-*", Now: t0}
				got, total := restored.List(f, Page{Sort: "name", Size: -1})
				want, wantTotal := scanList(restored, f, Page{Sort: "name", Size: -1})
				if total > wantTotal || len(got) > len(want) {
					errs <- fmt.Sprintf("indexed %d keys, scan later found %d", total, wantTotal)
					return
				}
			}
		}()
	}
	for i := range 200 {
		id := domain.KeyID(fmt.Sprint("new-", i))
		ev := domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Time: t0},
			domain.KeyCreated{KeyID: id, Name: string(id), Scope: domain.ScopeOrg, Owner: domain.Owner{User: "alice"}, Hash: hashHex})
		ev.Seq = uint64(10_000 + i)
		if err := restored.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got, n := restored.List(Filter{Tenant: "o1", Name: "new-*", Now: t0}, Page{Size: -1}); n != 200 || len(got) != 200 {
		t.Fatalf("after the folds the index holds %d of 200 new keys", n)
	}
}

// TestAFieldOfTooManyValuesIsNotTermIndexed: a metadata field holding a
// value per key stops being indexed past maxTermsPerField (its queries
// scan), while the fields of few values stay indexed and complete.
func TestAFieldOfTooManyValuesIsNotTermIndexed(t *testing.T) {
	ix := NewKeyIndex()
	n := maxTermsPerField + 10
	for i := range n {
		id := domain.KeyID(fmt.Sprint("k", i))
		ev := domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Time: t0},
			domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeProject, Project: "p1", Owner: domain.Owner{User: "alice", Realm: "native"},
				Hash: hashHex, Metadata: map[string]any{"team": fmt.Sprint("t", i%3), "n": float64(i)}})
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []*KeyIndex{ix, restoreInto(t, ix, NewKeyIndex())} {
		if _, ok := x.RecordsWithTerms("o1", "p1", "metadata.n", []string{"7"}, nil); ok {
			t.Error("a field of a value per key is term indexed")
		}
		recs, ok := x.RecordsWithTerms("o1", "p1", "metadata.team", []string{"t1", "t2"}, nil)
		if want := n - (n+2)/3; !ok || len(recs) != want {
			t.Errorf("team t1 or t2: %d records (indexed %v), want %d", len(recs), ok, want)
		}
		if recs, ok := x.RecordsWithTerms("o1", "p1", "username", []string{"alice"}, nil); !ok || len(recs) != n {
			t.Errorf("username alice: %d records, want %d", len(recs), n)
		}
	}
}

// TestAListByOwnerAndNameKeepsOnlyNamesThatMatch: when the owner's keys
// are fewer than the names the prefix starts, the list reads the owner's
// and still tests their names.
func TestAListByOwnerAndNameKeepsOnlyNamesThatMatch(t *testing.T) {
	ks := NewKeys()
	for i := range 21 {
		owner, name := "alice", fmt.Sprint("a-", i)
		if i == 20 {
			owner, name = "carol", "z"
		}
		id := domain.KeyID(fmt.Sprint("k", i))
		ev := domain.NewEvent(fmt.Sprint("e", i), "o1", domain.AggKey, string(id), domain.Meta{Time: t0},
			domain.KeyCreated{KeyID: id, Name: name, Scope: domain.ScopeProject, Project: "p1", Owner: domain.Owner{User: owner, Realm: "native"}, Hash: hashHex})
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Filter{{Owner: "carol", Name: "a*"}, {Owner: "carol", Name: "z*"}, {Owner: "alice", Name: "a-1*"}} {
		f.Tenant, f.Now = "o1", t0
		got, total := ks.List(f, Page{Sort: "name", Size: 100})
		want, wantTotal := scanList(ks, f, Page{Sort: "name", Size: 100})
		if total != wantTotal || !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("%s %s: %d %v, the scan %d %v", f.Owner, f.Name, total, ids(got), wantTotal, ids(want))
		}
	}
}
