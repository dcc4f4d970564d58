package projections

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// metadataKeys folds n keys of project p1 with metadata that changes:
// a team of three values, an id of one value a key (past
// maxTermsPerField: a wide field), arrays of tags, updates of all of it,
// and changing expirations, cross-cluster keys, invalidations.
func metadataKeys(t *testing.T, rng *rand.Rand, n int) *KeyIndex {
	t.Helper()
	ix := NewKeyIndex()
	evs := &keyEvents{t: t}
	fold := func(id string, at time.Time, p domain.Payload) { evs.fold(ix, id, at, p) }
	md := func(i int) map[string]any {
		m := map[string]any{"team": fmt.Sprint("t", rng.IntN(3)), "id": fmt.Sprint("c", i, "-", rng.IntN(3))}
		if rng.IntN(4) == 0 {
			m["tags"] = []any{fmt.Sprint("x", rng.IntN(3)), fmt.Sprint("x", rng.IntN(3))}
		}
		return m
	}
	for i := range n {
		id := fmt.Sprint("k", i)
		c := domain.KeyCreated{KeyID: domain.KeyID(id), Name: fmt.Sprint("n", rng.IntN(50)), Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: fmt.Sprint("u", rng.IntN(5)), Realm: "native"}, Hash: hashHex, Metadata: md(i)}
		if rng.IntN(10) == 0 {
			c.Type = domain.KeyCrossCluster
		}
		if rng.IntN(3) > 0 {
			exp := t0.Add(time.Duration(rng.IntN(30)) * time.Hour)
			c.Expires = &exp
		}
		fold(id, t0.Add(time.Duration(rng.IntN(40))*time.Millisecond), c)
		for range rng.IntN(3) {
			exp := t0.Add(time.Duration(rng.IntN(30)) * time.Hour)
			m := md(i)
			fold(id, t0, domain.KeyUpdated{Expires: &exp, Metadata: &m})
		}
		if rng.IntN(5) == 0 {
			fold(id, t0.Add(time.Hour), domain.KeyInvalidated{Reason: "x"})
		}
	}
	return ix
}

// lazied leaves every index of ix to its first reader, as a restore of
// a keyindex@2 snapshot does.
func lazied(ix *KeyIndex) *KeyIndex {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, pr := range ix.projects {
		pr.lazy()
	}
	return ix
}

// unbuilt names the indexes of ix's project p1 left to their first reader.
func unbuilt(ix *KeyIndex) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	pr := ix.projects["p1"]
	var out []string
	for name, lazy := range map[string]bool{"names": pr.names.unbuilt, "created": pr.created.unbuilt, "users": pr.ord.users.unbuilt,
		"expires": pr.ord.expires.unbuilt, "invalidated": pr.ord.invalidated.unbuilt, "terms": pr.terms.unbuilt} {
		if lazy {
			out = append(out, name)
		}
	}
	return out
}

func snapshotOf(t *testing.T, ix *KeyIndex) []byte {
	t.Helper()
	b, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestARestoredKeyIndexReadsItsIndexesFromTheSnapshot: a restored index
// has every index of its projects built (no first reader sorts a million
// names), they answer as the folded index's do, and the snapshot depends
// on the records alone: the folded index (stale entries, a field gone
// wide while stale), the restored one and one whose indexes are built
// anew from the records all write the same bytes, so a replica's digest
// is a replay's.
func TestARestoredKeyIndexReadsItsIndexesFromTheSnapshot(t *testing.T) {
	for _, n := range []int{300, maxTermsPerField + 200} {
		rng := rand.New(rand.NewPCG(27, uint64(n)))
		folded := metadataKeys(t, rng, n)
		snap := snapshotOf(t, folded)
		restored := NewKeyIndex()
		if err := restored.Restore(snap); err != nil {
			t.Fatal(err)
		}
		if lazy := unbuilt(restored); len(lazy) > 0 {
			t.Fatalf("%d keys: restored with %v left to their first reader", n, lazy)
		}
		if wide := restored.projects["p1"].terms.wide["metadata.id"] != nil; wide != (n > maxTermsPerField) {
			t.Fatalf("%d keys: metadata.id restored wide %v", n, wide)
		}
		rebuilt := lazied(restoreInto(t, folded, NewKeyIndex()))
		for name, x := range map[string]*KeyIndex{"restored": restored, "rebuilt": rebuilt} {
			if !bytes.Equal(snapshotOf(t, x), snap) {
				t.Errorf("%d keys: the %s index snapshots differently from the folded one", n, name)
			}
		}
		for range 200 {
			field, value := "metadata.team", fmt.Sprint("t", rng.IntN(4))
			switch rng.IntN(4) {
			case 0:
				field, value = "metadata.id", fmt.Sprint("c", rng.IntN(n), "-", rng.IntN(3))
			case 1:
				field, value = "metadata.tags", fmt.Sprint("x", rng.IntN(4))
			case 2:
				field, value = "username", fmt.Sprint("u", rng.IntN(6))
			}
			want, wantOK := folded.RecordsWithTerms("o1", "p1", field, []string{value}, nil)
			got, ok := restored.RecordsWithTerms("o1", "p1", field, []string{value}, nil)
			if ok && wantOK && !slices.Equal(recIDs(holding(got, field, value)), recIDs(holding(want, field, value))) {
				t.Fatalf("%d keys: %s %s: restored %v, folded %v", n, field, value, recIDs(got), recIDs(want))
			}
			if ok != wantOK && n < maxTermsPerField {
				t.Fatalf("%d keys: %s indexed %v restored, %v folded", n, field, ok, wantOK)
			}
		}
	}
}

// holding is the records of rs that hold value in field (postings may
// name records that no longer do: readers filter).
func holding(rs []*KeyRecord, field, value string) []*KeyRecord {
	return slices.DeleteFunc(slices.Clone(rs), func(r *KeyRecord) bool { return holds(r, field, value) < 0 })
}

// TestADamagedIndexSectionIsRefused: a key index snapshot whose indexes
// name a position out of range or twice, hold too few or too many
// entries, an invalidation entry of a key not invalidated, a term
// position out of order or a leaf the record lacks is refused with an
// error, never a panic or an index that would read past its records.
func TestADamagedIndexSectionIsRefused(t *testing.T) {
	ix := NewKeyIndex()
	fold(t, []Snapshotter{ix}, keyIndexFixtureEvents(t))
	pr := ix.projects["p2"] // m1 (metadata team, tier.level), m2 (invalidated)
	type sections struct {
		names, created, users, expires, invalidated []int32
		terms                                       func(w *writer)
	}
	encode := func(s sections) []byte {
		w := writer{}
		w.uint(1)
		w.str("p2")
		w.sym("org2")
		w.uint(uint64(len(pr.Records)))
		for _, r := range pr.Records {
			w.keyRecord(r)
		}
		for _, ps := range [][]int32{s.names, s.created, s.users, s.expires, s.invalidated} {
			w.positionList(ps)
		}
		// Every key's owner and realm, and the cross-cluster key m2.
		for _, f := range [][2]string{{"username", pr.Records[0].User()}, {"realm_name", pr.Records[0].Realm()}} {
			w.str(f[0])
			w.buf = append(w.buf, termsNarrow)
			w.uint(1)
			w.str(f[1])
			w.uint(2)
			w.uint(1)
			w.uint(1)
		}
		w.str("type")
		w.buf = append(w.buf, termsNarrow)
		w.uint(1)
		w.str(domain.ESTypeCrossCluster)
		w.uint(1)
		w.uint(2)
		s.terms(&w)
		w.str("")
		return w.buf
	}
	narrow := func(field, value string, gaps ...uint64) func(w *writer) {
		return func(w *writer) {
			w.str(field)
			w.buf = append(w.buf, termsNarrow)
			w.uint(1)
			w.str(value)
			w.uint(uint64(len(gaps)))
			for _, g := range gaps {
				w.uint(g)
			}
		}
	}
	wide := func(field string, p, leaf uint64) func(w *writer) {
		return func(w *writer) {
			w.str(field)
			w.buf = append(w.buf, termsWide)
			w.uint(1)
			w.uint(p)
			w.uint(leaf)
		}
	}
	good := sections{[]int32{0, 1}, []int32{0, 1}, []int32{0, 1}, []int32{0, 1}, []int32{1}, narrow("metadata.team", "a", 1)}
	if err := NewKeyIndex().Restore(encode(good)); err != nil {
		t.Fatalf("the well-formed sections are refused: %v", err)
	}
	if err := NewKeyIndex().Restore(encode(sections{good.names, good.created, good.users, good.expires, good.invalidated, wide("metadata.team", 0, 0)})); err != nil {
		t.Fatalf("a well-formed wide field is refused: %v", err)
	}
	bad := map[string]sections{
		"a name position out of range":   {[]int32{0, 2}, good.created, good.users, good.expires, good.invalidated, good.terms},
		"a creation position twice":      {good.names, []int32{1, 1}, good.users, good.expires, good.invalidated, good.terms},
		"an owner order too short":       {good.names, good.created, []int32{1}, good.expires, good.invalidated, good.terms},
		"an expiration order too long":   {good.names, good.created, good.users, []int32{0, 1, 1}, good.invalidated, good.terms},
		"a key not invalidated":          {good.names, good.created, good.users, good.expires, []int32{0, 1}, good.terms},
		"a term position gap of zero":    {good.names, good.created, good.users, good.expires, good.invalidated, narrow("metadata.team", "a", 1, 0)},
		"a term position past the end":   {good.names, good.created, good.users, good.expires, good.invalidated, narrow("metadata.team", "a", 1, 2)},
		"a wide entry past the records":  {good.names, good.created, good.users, good.expires, good.invalidated, wide("metadata.team", 2, 0)},
		"a wide entry of a missing leaf": {good.names, good.created, good.users, good.expires, good.invalidated, wide("metadata.team", 1, 0)},
		"a wide entry of another path":   {good.names, good.created, good.users, good.expires, good.invalidated, wide("metadata.team", 0, 1)},
		// Orders that hold every position once but not in their order,
		// and postings naming a key without their value: a restore that
		// took them would answer queries wrongly, not fail.
		"an invalidated key left out":   {good.names, good.created, good.users, good.expires, []int32{}, good.terms},
		"names out of order":            {[]int32{1, 0}, good.created, good.users, good.expires, good.invalidated, good.terms},
		"creations out of order":        {good.names, []int32{1, 0}, good.users, good.expires, good.invalidated, good.terms},
		"owners out of order":           {good.names, good.created, []int32{1, 0}, good.expires, good.invalidated, good.terms},
		"expirations out of order":      {good.names, good.created, good.users, []int32{1, 0}, good.invalidated, good.terms},
		"a posting of a key without it": {good.names, good.created, good.users, good.expires, good.invalidated, narrow("metadata.team", "a", 2)},
		"a posting of another value":    {good.names, good.created, good.users, good.expires, good.invalidated, narrow("metadata.team", "b", 1)},
		"wide entries out of order": {good.names, good.created, good.users, good.expires, good.invalidated, func(w *writer) {
			w.str("username")
			w.buf = append(w.buf, termsWide)
			w.uint(2)
			w.uint(1)
			w.uint(0)
			w.uint(0)
			w.uint(0)
			w.str("")
		}},
		"a terms tag unknown": {good.names, good.created, good.users, good.expires, good.invalidated, func(w *writer) {
			w.str("username")
			w.buf = append(w.buf, 7)
		}},
		"an owner's postings leaving out a key": {good.names, good.created, good.users, good.expires, good.invalidated, narrow("username", pr.Records[0].User(), 1)},
		"a cross-cluster key left out of type": {good.names, good.created, good.users, good.expires, good.invalidated, func(w *writer) {
			w.str("type")
			w.buf = append(w.buf, termsNarrow)
			w.uint(0)
		}},
	}
	for name, s := range bad {
		fresh := NewKeyIndex()
		if err := fresh.Restore(encode(s)); err == nil || fresh.Len() != 0 {
			t.Errorf("%s: restored (%v, %d keys)", name, err, fresh.Len())
		}
	}
}

// TestASnapshotIsWrittenWhileKeysKeepComing: snapshots written while folds
// add keys, change expirations and invalidate (the lock held only to copy
// the projects' views) each restore into an index of as many keys as it
// counts, its indexes built (go test -race).
func TestASnapshotIsWrittenWhileKeysKeepComing(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 15))
	ix, add := changingKeys(t, rng, 200)
	done := make(chan error)
	go func() {
		for range 20 {
			b, err := ix.Snapshot()
			if err == nil {
				restored := NewKeyIndex()
				if err = restored.Restore(b); err == nil && len(unbuilt(restored)) > 0 {
					err = fmt.Errorf("restored with %v unbuilt", unbuilt(restored))
				}
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 300 {
		add(ix, 2000+i)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
