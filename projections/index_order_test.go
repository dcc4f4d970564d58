package projections

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// keyEvents numbers the events of keys of tenant o1 and folds them into
// a key index, failing the test on an event the index refuses.
type keyEvents struct {
	t   *testing.T
	seq uint64
}

func (k *keyEvents) fold(ix *KeyIndex, id string, at time.Time, p domain.Payload) {
	k.t.Helper()
	k.seq++
	ev := domain.NewEvent(fmt.Sprint("e", k.seq), "o1", domain.AggKey, id, domain.Meta{Time: at}, p)
	ev.Seq = k.seq
	if err := ix.Apply(ev); err != nil {
		k.t.Fatal(err)
	}
}

// changingKeys folds n keys of project p1 whose names, owners, creation
// times and expirations tie often, and whose expirations change again and
// again (back to an earlier value, to none, by rotation); some are
// invalidated. It returns the index and a fold for more keys.
func changingKeys(t *testing.T, rng *rand.Rand, n int) (*KeyIndex, func(ix *KeyIndex, i int)) {
	t.Helper()
	evs := &keyEvents{t: t}
	fold := func(ix *KeyIndex, id domain.KeyID, at time.Time, p domain.Payload) { evs.fold(ix, string(id), at, p) }
	hour := func() time.Time { return t0.Add(time.Duration(rng.IntN(6)) * time.Hour) }
	add := func(ix *KeyIndex, i int) {
		id := domain.KeyID(fmt.Sprintf("k%03d", rng.IntN(1000)))
		id += domain.KeyID(fmt.Sprint("-", i))
		c := domain.KeyCreated{KeyID: id, Name: []string{"a", "b", "ab", "c"}[rng.IntN(4)], Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: []string{"alice", "bob", "carol"}[rng.IntN(3)], Realm: "native"}, Hash: hashHex}
		if rng.IntN(3) > 0 {
			exp := hour()
			c.Expires = &exp
		}
		fold(ix, id, t0.Add(time.Duration(rng.IntN(4))*time.Millisecond), c)
		for range rng.IntN(4) {
			switch exp := hour(); rng.IntN(4) {
			case 0:
				fold(ix, id, t0, domain.KeyUpdated{NeverExpires: true})
			case 1:
				fold(ix, id, t0, domain.KeyRotated{RotatedTo: "x", Expires: exp})
			default:
				fold(ix, id, t0, domain.KeyUpdated{Expires: &exp})
			}
		}
		if rng.IntN(4) == 0 {
			fold(ix, id, hour(), domain.KeyInvalidated{Reason: "x"})
		}
	}
	ix := NewKeyIndex()
	for i := range n {
		add(ix, i)
	}
	return ix, add
}

// sortValue is what a query sorted by field reads of r: a keyword, a
// date, or none.
func sortValue(r *KeyRecord, field OrderField) (s string, n int64, missing bool) {
	switch field {
	case "name":
		return r.Name, 0, false
	case "username":
		return r.User(), 0, false
	case "creation":
		return "", r.Created, false
	}
	return "", r.Expires, r.Expires == 0
}

// sortedScan is RecordsInOrder done by sorting every record, as the query
// API's scan ranks hits: values (missing last), then creation, then id.
func sortedScan(all []*KeyRecord, field OrderField, desc bool, after *OrderCursor, k int) []*KeyRecord {
	cmpVals := func(as string, an int64, am bool, bs string, bn int64, bm bool) int {
		if am || bm {
			return cmp.Compare(b2int(am), b2int(bm)) // missing last, either way
		}
		c := cmp.Or(cmp.Compare(an, bn), strings.Compare(as, bs))
		if desc {
			c = -c
		}
		return c
	}
	var out []*KeyRecord
	for _, r := range all {
		s, n, m := sortValue(r, field)
		if after == nil || cmpVals(s, n, m, after.S, after.N, after.Missing) > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *KeyRecord) int {
		as, an, am := sortValue(a, field)
		bs, bn, bm := sortValue(b, field)
		return cmp.Or(cmpVals(as, an, am, bs, bn, bm), cmp.Compare(a.Created, b.Created), strings.Compare(string(a.ID), string(b.ID)))
	})
	return out[:min(k, len(out))]
}

func b2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func recIDs(rs []*KeyRecord) []domain.KeyID {
	out := make([]domain.KeyID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestRecordsReadInOrderAreTheFirstOfASortOfEveryRecord: over keys tied in
// every field and whose expirations keep changing, the first k records of
// each index, either way, after any cursor, are exactly those a sort of
// every record puts first, in its order; so they are for an index
// restored from a snapshot, and for it after more keys came.
func TestRecordsReadInOrderAreTheFirstOfASortOfEveryRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 11))
	ix, add := changingKeys(t, rng, 400)
	restored := restoreInto(t, ix, NewKeyIndex())
	grown := restoreInto(t, ix, NewKeyIndex())
	for i := range 150 {
		add(grown, 1000+i)
	}
	for _, x := range []*KeyIndex{ix, restored, grown} {
		all := x.Records("o1", "p1", nil)
		for range 400 {
			field := []OrderField{"name", "username", "creation", "expiration"}[rng.IntN(4)]
			desc, k := rng.IntN(2) == 0, rng.IntN(len(all)+5)
			if rng.IntN(2) == 0 {
				k = rng.IntN(12)
			}
			var after *OrderCursor
			if rng.IntN(2) == 0 {
				s, n, m := sortValue(all[rng.IntN(len(all))], field)
				after = &OrderCursor{S: s, N: n, Missing: m}
			}
			rd := OrderRead{Field: field, Desc: desc, After: after, K: k}
			got, total, ok := x.RecordsInOrder("o1", "p1", rd, nil)
			want := sortedScan(all, field, desc, after, k)
			if !ok || total != len(all) || !slices.Equal(recIDs(got), recIDs(want)) {
				t.Fatalf("%s desc %v after %+v k %d: indexed (ok %v, total %d)\n%v\nsorted\n%v", field, desc, after, k, ok, total, recIDs(got), recIDs(want))
			}
		}
	}
	if _, _, ok := ix.RecordsInOrder("o1", "p1", OrderRead{Field: "realm_name", K: 10}, nil); ok {
		t.Error("realm_name is read in order")
	}
}

// TestRecordsOfOneIndexReadInOrderAreTheFirstOfASortOfTheirs: a query that
// is one index's entries (a name prefix, an owner, a creation range,
// invalidated keys), read in the order of another field, gives the first
// of a sort of its matches and their exact number; an index that cannot
// count them exactly (expirations changed) or matches too rare to meet
// soon leave the answer to the candidates.
func TestRecordsOfOneIndexReadInOrderAreTheFirstOfASortOfTheirs(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 13))
	ix, add := changingKeys(t, rng, 400)
	grown := restoreInto(t, ix, NewKeyIndex())
	for i := range 100 {
		add(grown, 1000+i)
	}
	mid := t0.UnixMilli() + 1
	onlys := []struct {
		src  IndexSource
		keep func(*KeyRecord) bool
	}{
		{IndexSource{Kind: ByPrefix, Field: "name", Prefix: "a"}, func(r *KeyRecord) bool { return strings.HasPrefix(r.Name, "a") }},
		{IndexSource{Kind: ByTerms, Field: "username", Values: []string{"alice", "carol"}}, func(r *KeyRecord) bool { return r.User() != "bob" }},
		{IndexSource{Kind: ByRange, Field: "creation", Lo: mid, Hi: math.MaxInt64}, func(r *KeyRecord) bool { return r.Created >= mid }},
		{IndexSource{Kind: ByExists, Field: "invalidation"}, func(r *KeyRecord) bool { return r.Invalidated }},
		{IndexSource{Kind: ByRange, Field: "expiration", Lo: 0, Hi: math.MaxInt64}, func(r *KeyRecord) bool { return r.Expires != 0 }},
		{IndexSource{Kind: ByUnion, Any: []IndexSource{{Kind: ByTerms, Field: "username", Values: []string{"alice"}}, {Kind: ByPrefix, Field: "name", Prefix: "a"},
			{Kind: ByTerms, Field: "name", Values: []string{"b"}}}}, func(r *KeyRecord) bool { return r.User() == "alice" || r.Name[0] == 'a' || r.Name == "b" }},
		{IndexSource{Kind: ByAll, Not: []IndexSource{{Kind: ByTerms, Field: "name", Values: []string{"c", "ab"}}}}, func(r *KeyRecord) bool { return r.Name != "c" && r.Name != "ab" }},
		{IndexSource{Kind: ByAll, Any: []IndexSource{{Kind: ByTerms, Field: "username", Values: []string{"alice", "bob"}}, {Kind: ByPrefix, Field: "name", Prefix: "a"},
			{Kind: ByRange, Field: "creation", Lo: 0, Hi: math.MaxInt64}}, Not: []IndexSource{{Kind: ByExists, Field: "invalidation"}, {Kind: ByTerms, Field: "name", Values: []string{"zz"}}}},
			func(r *KeyRecord) bool { return r.User() != "carol" && r.Name[0] == 'a' && !r.Invalidated }},
	}
	answered := 0
	for _, x := range []*KeyIndex{ix, restoreInto(t, ix, NewKeyIndex()), grown} {
		all := x.Records("o1", "p1", nil)
		for range 300 {
			only := onlys[rng.IntN(len(onlys))]
			var matches []*KeyRecord
			for _, r := range all {
				if only.keep(r) {
					matches = append(matches, r)
				}
			}
			field := []OrderField{"name", "username", "creation", "expiration"}[rng.IntN(4)]
			rd := OrderRead{Field: field, Desc: rng.IntN(2) == 0, K: 1 + rng.IntN(12), Only: &only.src, Keep: only.keep}
			if rng.IntN(2) == 0 {
				s, n, m := sortValue(all[rng.IntN(len(all))], field)
				rd.After = &OrderCursor{S: s, N: n, Missing: m}
			}
			got, total, ok := x.RecordsInOrder("o1", "p1", rd, nil)
			if !ok { // too few, or bunched where the order reaches last: the caller reads them all
				continue
			}
			answered++
			want := sortedScan(matches, field, rd.Desc, rd.After, rd.K)
			if total != len(matches) || !slices.Equal(recIDs(got), recIDs(want)) {
				t.Fatalf("%+v by %s desc %v after %+v k %d: indexed (total %d)\n%v\nsorted (total %d)\n%v",
					only.src, field, rd.Desc, rd.After, rd.K, total, recIDs(got), len(matches), recIDs(want))
			}
		}
	}
	if answered < 300 {
		t.Fatalf("%d of 900 reads answered in order", answered)
	}
}

// TestDateRangesReadEveryRecordInTheRange: the candidates of a range on
// creation, expiration or invalidation (or of the field's existence) are
// every record whose value lies in it, once each, in creation order, and
// stale entries of changed expirations add none; the source of fewer
// candidates is the one read.
func TestDateRangesReadEveryRecordInTheRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 12))
	ix, _ := changingKeys(t, rng, 500)
	restored := restoreInto(t, ix, NewKeyIndex())
	value := map[string]func(*KeyRecord) int64{
		"creation": func(r *KeyRecord) int64 { return r.Created }, "expiration": func(r *KeyRecord) int64 { return r.Expires },
		"invalidation": func(r *KeyRecord) int64 { return r.InvalidatedAt },
	}
	for _, x := range []*KeyIndex{ix, restored} {
		all := x.Records("o1", "p1", nil)
		for range 300 {
			field := []string{"creation", "expiration", "invalidation"}[rng.IntN(3)]
			src := IndexSource{Kind: ByRange, Field: field, Lo: t0.Add(time.Duration(rng.IntN(7)-1) * time.Hour).UnixMilli(), Hi: math.MaxInt64}
			if rng.IntN(2) == 0 {
				src.Hi = src.Lo + rng.Int64N(4)*int64(time.Hour/time.Millisecond)
			}
			if rng.IntN(4) == 0 {
				src = IndexSource{Kind: ByExists, Field: field}
			}
			var want []*KeyRecord
			for _, r := range all {
				if v := value[field](r); v != 0 && (src.Kind == ByExists || v >= src.Lo && v <= src.Hi) {
					want = append(want, r)
				}
			}
			got, which := x.Candidates("o1", "p1", []IndexSource{src}, nil)
			if which == -1 { // more than half the project (stale expirations too): every record
				if len(want) <= len(all)/2 && field != "expiration" || !slices.Equal(got, all) {
					t.Fatalf("%+v: %d records read of %d in the range, %d in all", src, len(got), len(want), len(all))
				}
				continue
			}
			if which != 0 || !slices.Equal(recIDs(got), recIDs(want)) {
				t.Fatalf("%+v: indexed (source %d)\n%v\nscanned\n%v", src, which, recIDs(got), recIDs(want))
			}
		}
		few := IndexSource{Kind: ByRange, Field: "creation", Lo: 0, Hi: t0.UnixMilli()}
		fewer := IndexSource{Kind: ByRange, Field: "creation", Lo: 0, Hi: t0.UnixMilli() - 1}
		if _, which := x.Candidates("o1", "p1", []IndexSource{few, {Kind: ByExists, Field: "invalidation"}, fewer}, nil); which != 2 {
			t.Errorf("of a quarter, the invalidated and none of the records, source %d is read", which)
		}
		if _, which := x.Candidates("o1", "p1", []IndexSource{{Kind: ByRange, Field: "name"}}, nil); which != -1 {
			t.Errorf("a range on name is read from source %d", which)
		}
	}
}

// TestTermPostingsCountTheirKeysUntilAnArrayOrAnUpdate: a metadata
// field's postings count its keys exactly (a total) unless a key holds
// several values there (an array) or an update changed metadata (stale
// postings), until a restore rebuilds them; arrays are found again then.
func TestTermPostingsCountTheirKeysUntilAnArrayOrAnUpdate(t *testing.T) {
	ix := NewKeyIndex()
	fold := func(x *KeyIndex, id string, p domain.Payload) {
		if err := x.Apply(domain.NewEvent("e", "o1", domain.AggKey, id, domain.Meta{Time: t0}, p)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		md := map[string]any{"team": fmt.Sprint("t", i%3)}
		if i%10 == 0 {
			md["tags"] = []any{"x", "y"}
		}
		fold(ix, fmt.Sprint("k", i), domain.KeyCreated{KeyID: domain.KeyID(fmt.Sprint("k", i)), Name: "n", Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex, Metadata: md})
	}
	count := func(x *KeyIndex, field string, values ...string) (int, bool) {
		x.mu.RLock()
		defer x.mu.RUnlock()
		return x.projects["p1"].countExact(IndexSource{Kind: ByTerms, Field: field, Values: values})
	}
	check := func(what string, x *KeyIndex, field string, want int, exact bool) {
		t.Helper()
		if n, ok := count(x, field, "t1", "t1", "x"); ok != exact || ok && n != want {
			t.Errorf("%s: %s counts %d (exact %v), want %d (exact %v)", what, field, n, ok, want, exact)
		}
	}
	check("folded", ix, "metadata.team", 10, true)
	check("folded", ix, "metadata.tags", 0, false)
	check("restored", restoreInto(t, ix, NewKeyIndex()), "metadata.tags", 0, false)
	md := map[string]any{"team": "t1"}
	fold(ix, "k0", domain.KeyUpdated{Metadata: &md})
	check("updated", ix, "metadata.team", 0, false)
	check("updated", ix, "username", 0, true)
	check("updated, restored", restoreInto(t, ix, NewKeyIndex()), "metadata.team", 11, true)
}

// TestARestoredIndexIsReadInOrderWhileKeysKeepComing: readers of an index
// whose orders are lazy (restored from a keyindex@2 snapshot, or a key
// created again) build them and read them in order, and its date ranges,
// while folds add keys and change expirations; every read finds its
// records in order and every key once (go test -race).
func TestARestoredIndexIsReadInOrderWhileKeysKeepComing(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 14))
	ix, add := changingKeys(t, rng, 300)
	restored := lazied(restoreInto(t, ix, NewKeyIndex()))
	done := make(chan string, 4)
	for g := range 4 {
		go func() {
			for i := range 60 {
				field := []OrderField{"name", "username", "creation", "expiration"}[(g+i)%4]
				got, total, ok := restored.RecordsInOrder("o1", "p1", OrderRead{Field: field, K: 1000}, nil)
				seen := map[domain.KeyID]bool{}
				for _, r := range got {
					if seen[r.ID] {
						done <- fmt.Sprintf("%s: %s twice", field, r.ID)
						return
					}
					seen[r.ID] = true
				}
				if !ok || len(got) < 300 || len(got) > total {
					done <- fmt.Sprintf("%s: %d records of %d (ok %v)", field, len(got), total, ok)
					return
				}
				restored.Candidates("o1", "p1", []IndexSource{{Kind: ByRange, Field: "expiration", Lo: 0, Hi: t0.UnixMilli()}}, nil)
			}
			done <- ""
		}()
	}
	for i := range 200 {
		add(restored, 5000+i)
	}
	for range 4 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

// TestRecordsReadWithTheirTiesHoldTheFirstOfASortByFurtherFields: read
// with Ties, an index's records hold the first k of a sort by its field
// then by another (any order of the ties), after a cursor of both fields
// (the records of the cursor's value come, the further field's test
// leaves out those before it); too many ties give up.
func TestRecordsReadWithTheirTiesHoldTheFirstOfASortByFurtherFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 15))
	ix, _ := changingKeys(t, rng, 400)
	all := ix.Records("o1", "p1", nil)
	second := func(r *KeyRecord) string { return string(r.ID[len(r.ID)-1:]) } // a further field of many ties
	answered := 0
	for range 600 {
		field := []OrderField{"name", "username", "creation", "expiration"}[rng.IntN(4)]
		desc, k := rng.IntN(2) == 0, 1+rng.IntN(15)
		cmpBoth := func(a, b *KeyRecord) int {
			as, an, am := sortValue(a, field)
			bs, bn, bm := sortValue(b, field)
			if am || bm {
				if c := cmp.Compare(b2int(am), b2int(bm)); c != 0 {
					return c
				}
			} else if c := cmp.Or(cmp.Compare(an, bn), strings.Compare(as, bs)); c != 0 {
				if desc {
					return -c
				}
				return c
			}
			return strings.Compare(second(a), second(b))
		}
		rd := OrderRead{Field: field, Desc: desc, K: k, Ties: true}
		var cursor *KeyRecord
		if rng.IntN(2) == 0 {
			cursor = all[rng.IntN(len(all))]
			s, n, m := sortValue(cursor, field)
			rd.After = &OrderCursor{S: s, N: n, Missing: m}
			rd.Keep = func(r *KeyRecord) bool { return cmpBoth(r, cursor) > 0 }
		}
		var want []*KeyRecord
		for _, r := range all {
			if cursor == nil || cmpBoth(r, cursor) > 0 {
				want = append(want, r)
			}
		}
		slices.SortFunc(want, func(a, b *KeyRecord) int {
			return cmp.Or(cmpBoth(a, b), cmp.Compare(a.Created, b.Created), strings.Compare(string(a.ID), string(b.ID)))
		})
		want = want[:min(k, len(want))]
		got, total, ok := ix.RecordsInOrder("o1", "p1", rd, nil)
		if !ok {
			continue // too many ties
		}
		answered++
		for _, r := range want {
			if !slices.Contains(got, r) || total != len(all) {
				t.Fatalf("%s desc %v k %d after %v: %s missing (total %d)", field, desc, k, rd.After, r.ID, total)
			}
		}
		for _, r := range got {
			if rd.Keep != nil && !rd.Keep(r) {
				t.Fatalf("%s desc %v k %d after %v: %s kept", field, desc, k, rd.After, r.ID)
			}
		}
	}
	if answered < 200 {
		t.Fatalf("%d of 600 reads with ties answered", answered)
	}
}

// TestOwnersOfTooManyNamesAreReadFromTheirOrder: past maxTermsPerField
// owners the term index drops username, yet a term or prefix of it still
// reads its keys alone, from the owner index, exactly counted.
func TestOwnersOfTooManyNamesAreReadFromTheirOrder(t *testing.T) {
	ix := NewKeyIndex()
	n := maxTermsPerField + 10
	for i := range n {
		id := domain.KeyID(fmt.Sprint("k", i))
		ev := domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Time: t0},
			domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeProject, Project: "p1", Owner: domain.Owner{User: fmt.Sprint("user", i%(n-5)), Realm: "native"}, Hash: hashHex})
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []*KeyIndex{ix, restoreInto(t, ix, NewKeyIndex())} {
		if _, ok := x.RecordsWithTerms("o1", "p1", "username", []string{"user7"}, nil); ok {
			t.Fatal("username is term indexed")
		}
		for _, tt := range []struct {
			src  IndexSource
			want int
		}{
			{IndexSource{Kind: ByTerms, Field: "username", Values: []string{"user1", "user2", "user1"}}, 4}, // two keys each
			{IndexSource{Kind: ByPrefix, Field: "username", Prefix: "user409"}, 11},
		} {
			got, which := x.Candidates("o1", "p1", []IndexSource{tt.src}, nil)
			x.mu.RLock()
			total, exact := x.projects["p1"].countExact(tt.src)
			x.mu.RUnlock()
			if which != 0 || len(got) != tt.want || !exact || total != tt.want {
				t.Errorf("%+v: %d records (source %d), counted %d (exact %v), want %d", tt.src, len(got), which, total, exact, tt.want)
			}
		}
	}
}

// TestAFieldOfTooManyValuesIsReadFromItsSortedValues: a metadata field of
// a value a key, past maxTermsPerField, answers its terms and existence
// from its sorted values, exactly counted until an update changes one
// (the old entry then stays behind, the new one is there), and again once
// restored.
func TestAFieldOfTooManyValuesIsReadFromItsSortedValues(t *testing.T) {
	ix := NewKeyIndex()
	n := maxTermsPerField + 100
	fold := func(id string, p domain.Payload) {
		if err := ix.Apply(domain.NewEvent("e", "o1", domain.AggKey, id, domain.Meta{Time: t0}, p)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		fold(fmt.Sprint("k", i), domain.KeyCreated{KeyID: domain.KeyID(fmt.Sprint("k", i)), Name: "n", Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex, Metadata: map[string]any{"customer": fmt.Sprint("c", i)}})
	}
	read := func(x *KeyIndex, src IndexSource) ([]domain.KeyID, int, bool) {
		got, which := x.Candidates("o1", "p1", []IndexSource{src}, nil)
		if which != 0 && src.Kind != ByExists { // every key: more than half the project, a scan
			t.Fatalf("%+v: source %d", src, which)
		}
		x.mu.RLock()
		defer x.mu.RUnlock()
		total, exact := x.projects["p1"].countExact(src)
		return recIDs(got), total, exact
	}
	terms := IndexSource{Kind: ByTerms, Field: "metadata.customer", Values: []string{"c7", "c4100", "c7", "nobody"}}
	if got, total, exact := read(ix, terms); !slices.Equal(got, []domain.KeyID{"k7", "k4100"}) || total != 2 || !exact {
		t.Errorf("folded: %v, counted %d (exact %v)", got, total, exact)
	}
	md := map[string]any{"customer": "c4100"}
	fold("k9", domain.KeyUpdated{Metadata: &md})
	if got, _, exact := read(ix, terms); !slices.Equal(got, []domain.KeyID{"k7", "k9", "k4100"}) || exact {
		t.Errorf("updated: %v (exact %v)", got, exact)
	}
	restored := restoreInto(t, ix, NewKeyIndex())
	if got, total, exact := read(restored, terms); !slices.Equal(got, []domain.KeyID{"k7", "k9", "k4100"}) || total != 3 || !exact {
		t.Errorf("restored: %v, counted %d (exact %v)", got, total, exact)
	}
	if _, total, exact := read(restored, IndexSource{Kind: ByExists, Field: "metadata.customer"}); total != n || !exact {
		t.Errorf("restored: %d hold the field (exact %v), want %d", total, exact, n)
	}
}

// TestAKeyInvalidatedAgainIsFoundAtItsLastInvalidation: a second
// KeyInvalidated moves a key's invalidation time (as the plain fold of
// domain.Key does); the invalidation index finds the key at the new time,
// and exists/true read it, as a scan of the records does.
func TestAKeyInvalidatedAgainIsFoundAtItsLastInvalidation(t *testing.T) {
	ix := NewKeyIndex()
	evs := &keyEvents{t: t}
	fold := func(id string, at time.Time, p domain.Payload) { evs.fold(ix, id, at, p) }
	for i := range 8 {
		id := fmt.Sprint("k", i)
		fold(id, t0, domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex})
	}
	fold("k1", t0.Add(time.Hour), domain.KeyInvalidated{Reason: "x"})
	fold("k1", t0.Add(2*time.Hour), domain.KeyInvalidated{Reason: "again"})
	later := t0.Add(2 * time.Hour).UnixMilli()
	for _, src := range []IndexSource{{Kind: ByRange, Field: "invalidation", Lo: later, Hi: later}, {Kind: ByExists, Field: "invalidation"}} {
		got, which := ix.Candidates("o1", "p1", []IndexSource{src}, nil)
		if which != 0 || len(got) != 1 || got[0].ID != "k1" {
			t.Errorf("%+v: read %v from source %d, want k1 from the index", src, recIDs(got), which)
		}
	}
	if n, ok := ix.projects["p1"].countExact(IndexSource{Kind: ByExists, Field: "invalidation"}); ok && n != 1 {
		t.Errorf("the invalidated keys count %d, want 1", n)
	}
}
