package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkListPage is one page of 50 of a tenant's 100,000 keys, sorted
// (every key filtered and sorted, only the page copied out).
func BenchmarkListPage(b *testing.B) {
	ks := NewKeys()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		id := domain.KeyID(fmt.Sprintf("k%06d", (i*7919)%100_000))
		exp := t0.Add(time.Duration(i%977) * time.Hour)
		ev := domain.NewEvent(fmt.Sprint(i), "t", domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(i) * time.Second)},
			domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("name-%d", i%1000), Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: hashHex, Expires: &exp})
		if err := ks.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	for _, sort := range []string{"-created", "name", "status"} {
		b.Run(sort, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if keys, total := ks.List(Filter{Tenant: "t", Now: t0}, Page{Sort: sort, Size: 50}); total != 100_000 || len(keys) != 50 {
					b.Fatal(total, len(keys))
				}
			}
		})
	}
}

// BenchmarkCleanupMatches is what a cleanup by filter (api/rest/cleanup.go)
// lists of 100,000 matching keys: all of them copied out (Size -1), or only
// as many as one cleanup may revoke (domain.MaxRevokeByFilter), the count
// being the total either way.
func BenchmarkCleanupMatches(b *testing.B) {
	ks := NewKeys()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		id := domain.KeyID(fmt.Sprintf("k%06d", i))
		ev := domain.NewEvent(fmt.Sprint(i), "t", domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(i) * time.Second)},
			domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("name-%d", i%1000), Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: hashHex})
		if err := ks.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{-1, domain.MaxRevokeByFilter} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, total := ks.List(Filter{Tenant: "t", Now: t0, Revocable: true}, Page{Sort: "created", Size: size}); total != 100_000 {
					b.Fatal(total)
				}
			}
		})
	}
}

// The cursor's positions order keys as the list's sort does, whatever the
// sort: a walk by cursor is the list, page after page.
func TestPositionsOrderKeysAsTheListSortsThem(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var keys []*keyRec
	var in keyInterns
	for i := range 60 {
		k := &domain.Key{ID: domain.KeyID(fmt.Sprintf("k%02d", (i*37)%60)), Name: fmt.Sprintf("n%d", i%7), Owner: domain.Owner{User: fmt.Sprintf("u%d", i%3)},
			Created: t0.Add(time.Duration(i%11) * time.Hour), Invalidated: i%5 == 0}
		if i%4 != 0 {
			k.Expires = t0.Add(time.Duration(i%9-3) * time.Hour)
		}
		if i%3 != 0 {
			k.LastUsed = t0.Add(time.Duration(i%6) * time.Hour)
		}
		keys = append(keys, in.record(k, nil))
	}
	pos := func(r *keyRec, by string) Position {
		k := r.key(true)
		if p := r.position(by, t0); p != PositionOf(&k, by, t0) {
			t.Fatalf("sort %s: record of %s at %v, its key at %v", by, k.ID, p, PositionOf(&k, by, t0))
		}
		return PositionOf(&k, by, t0)
	}
	for sort := range SortFields {
		for _, by := range []string{sort, "-" + sort} {
			sortKeys(keys, by, t0)
			for i := 1; i < len(keys); i++ {
				if comparePositions(pos(keys[i-1], by), pos(keys[i], by), by) >= 0 {
					t.Fatalf("sort %s: %s before %s, their positions the other way", by, keys[i-1].ID, keys[i].ID)
				}
			}
		}
	}
}

// projectKeys folds n keys of project "p" of tenant "t" into a fresh key
// list: key-<i>, created a millisecond apart from t0 (returned), in an id
// order unlike creation's, expiring within a year, owned by owner(i).
func projectKeys(b *testing.B, n int, owner func(i int) string) (*Keys, time.Time) {
	ks := NewKeys()
	ks.Reserve(n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := projectKeyID(i, n)
		exp := t0.Add(time.Duration(1+i%365) * 24 * time.Hour)
		ev := domain.NewEvent(fmt.Sprint(i), "t", domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(i) * time.Millisecond)},
			domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("key-%d", i), Scope: domain.ScopeProject, Project: "p", Type: domain.KeyPersonal,
				Owner: domain.Owner{User: owner(i)}, Hash: hashHex, Expires: &exp})
		ev.Seq = uint64(i + 1)
		if err := ks.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	return ks, t0
}

// projectKeyID is the id of projectKeys' i-th key of n.
func projectKeyID(i, n int) domain.KeyID { return domain.KeyID(fmt.Sprintf("k%07d", (i*7919)%n)) }

// BenchmarkListNamePrefix is the console list of issue 27's scale figures
// in one projection: a page of 50 active keys whose name starts with
// "key-12" (1 in 90 of KEYPLANE_BENCH_KEYS keys, default 1,000,000),
// sorted by each field.
func BenchmarkListNamePrefix(b *testing.B) {
	n := benchKeys(1_000_000)
	ks, t0 := projectKeys(b, n, func(int) string { return "owner" })
	f := Filter{Tenant: "t", Project: "p", Name: "key-12*", Status: domain.StatusActive, Now: t0}
	for _, sort := range []string{"name", "-created", "expiration", "owner"} {
		b.Run(sort, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if keys, _ := ks.List(f, Page{Sort: sort, Size: 50}); len(keys) != 50 {
					b.Fatal(len(keys))
				}
			}
		})
	}
}

// BenchmarkListInOrder is the console list of one project of
// KEYPLANE_BENCH_KEYS keys (default 1,000,000), filtered by placement
// alone, sorted by each field an index keeps: the first page of 50, and
// a page of 50 after a cursor (the position of a key taken at random, in
// the middle of the order, as a client walking the list sends it). A
// tenth of the keys never expire, a third were used, a twentieth were
// updated to expire later: the indexes of expiration and last use hold
// stale entries.
func BenchmarkListInOrder(b *testing.B) {
	n := benchKeys(1_000_000)
	ks := NewKeys()
	ks.Reserve(n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(0)
	apply := func(agg, id string, at time.Time, p domain.Payload) {
		seq++
		ev := domain.NewEvent(fmt.Sprint(seq), "t", agg, id, domain.Meta{Time: at}, p)
		ev.Seq = seq
		if err := ks.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	id := func(i int) domain.KeyID { return projectKeyID(i, n) }
	for i := range n {
		c := domain.KeyCreated{KeyID: id(i), Name: fmt.Sprintf("key-%d", i), Scope: domain.ScopeProject, Project: "p", Type: domain.KeyPersonal,
			Owner: domain.Owner{User: fmt.Sprintf("user-%d", (i*31)%1000)}, Hash: hashHex}
		if i%10 != 0 {
			exp := t0.Add(time.Duration(1+i%365) * 24 * time.Hour)
			c.Expires = &exp
		}
		apply(domain.AggKey, string(id(i)), t0.Add(time.Duration(i)*time.Millisecond), c)
	}
	for i := 0; i < n; i += 3 {
		used := t0.Add(time.Duration(i%5000) * time.Hour)
		apply(domain.AggKeyUse, string(id(i)), used, domain.KeyUsed{KeyID: id(i), Used: used})
	}
	for i := 0; i < n; i += 20 {
		exp := t0.Add(time.Duration(400+i%100) * 24 * time.Hour)
		apply(domain.AggKey, string(id(i)), t0.Add(time.Hour), domain.KeyUpdated{Expires: &exp})
	}
	f := Filter{Tenant: "t", Project: "p", Now: t0}
	middle, _ := ks.Get("t", id(n/2+1))
	for _, sort := range []string{"expiration", "-expiration", "owner", "-owner", "last_used", "-last_used", "-created", "name"} {
		ks.List(f, Page{Sort: sort, Size: 1}) // builds an index left to its first reader
		after := PositionOf(&middle, sort, t0)
		for _, page := range []struct {
			name  string
			after *Position
		}{{"first", nil}, {"cursor", &after}} {
			b.Run(sort+"/"+page.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if keys, total := ks.List(f, Page{Sort: sort, Size: 50, After: page.after}); total != n || len(keys) != 50 {
						b.Fatal(total, len(keys))
					}
				}
			})
		}
	}
}
