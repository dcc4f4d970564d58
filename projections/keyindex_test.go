package projections

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func keyIndexEvents(t *testing.T) []domain.Event {
	t.Helper()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(24 * time.Hour)
	var meta map[string]any
	_ = json.Unmarshal([]byte(`{"team": "a", "env": {"tags": ["dev", "prod"]}, "n": 42}`), &meta)
	newMeta := map[string]any{"team": "b"}
	h := domain.HashSecret([]byte("s")).String()
	evs := []domain.Event{
		domain.NewEvent("e1", "org1", domain.AggKey, "k1", domain.Meta{Time: t0}, domain.KeyCreated{KeyID: "k1", Name: "one", Scope: domain.ScopeProject,
			Project: "p1", Owner: domain.Owner{User: "u", Realm: domain.RealmProject}, Hash: h, Expires: &exp, Metadata: meta}),
		domain.NewEvent("e2", "org1", domain.AggKey, "k2", domain.Meta{Time: t0}, domain.KeyCreated{KeyID: "k2", Name: "org-key", Scope: domain.ScopeOrg,
			Owner: domain.Owner{User: "u"}, Hash: h, Metadata: map[string]any{}}),
		domain.NewEvent("e3", "org1", domain.AggKey, "k3", domain.Meta{Time: t0.Add(time.Second)}, domain.KeyCreated{KeyID: "k3", Name: "two",
			Scope: domain.ScopeProject, Project: "p1", Owner: domain.Owner{User: "v", Realm: domain.RealmMembers}, Hash: h, Metadata: meta}),
		domain.NewEvent("e4", "org1", domain.AggKey, "k1", domain.Meta{Time: t0}, domain.KeyUpdated{Metadata: &newMeta, NeverExpires: true}),
		domain.NewEvent("e5", "org1", domain.AggKey, "k3", domain.Meta{Time: t0.Add(time.Minute)}, domain.KeyInvalidated{}),
		domain.NewEvent("e6", "org1", domain.AggKey, "k2", domain.Meta{Time: t0}, domain.KeyInvalidated{}),
	}
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
	}
	return evs
}

func scanned(ix *KeyIndex, t domain.TenantID, pr domain.ProjectID) []KeyRecord {
	var out []KeyRecord
	for _, r := range ix.Records(t, pr, nil) {
		out = append(out, *r)
	}
	return out
}

func TestKeyIndexFoldsProjectKeys(t *testing.T) {
	ix := NewKeyIndex()
	for _, ev := range keyIndexEvents(t) {
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	recs := scanned(ix, "org1", "p1")
	if len(recs) != 2 || recs[0].ID != "k1" || recs[1].ID != "k3" || ix.Len() != 2 {
		t.Fatalf("project p1 holds %+v", recs)
	}
	k1, k3 := recs[0], recs[1]
	if k1.Expires != 0 || len(k1.Metadata) != 1 || k1.Metadata[0] != (domain.MetadataLeaf{Path: "team", Value: "b"}) {
		t.Fatalf("k1 after update: %+v", k1)
	}
	if !k3.Invalidated || k3.InvalidatedAt == 0 || k3.Realm() != domain.RealmMembers {
		t.Fatalf("k3: %+v", k3)
	}
	var leaves []string
	for _, l := range k3.Metadata {
		leaves = append(leaves, l.Path+"="+l.Value)
	}
	if got := strings.Join(leaves, ","); got != "env.tags=dev,env.tags=prod,n=42,team=a" {
		t.Fatalf("flattened metadata %s", got)
	}
	if len(scanned(ix, "org2", "p1")) != 0 || len(scanned(ix, "org1", "p2")) != 0 {
		t.Fatal("another tenant or project sees the keys")
	}
}

func TestKeyIndexSnapshotRestoresTheSameState(t *testing.T) {
	folded := NewKeyIndex()
	fold(t, []Snapshotter{folded}, keyIndexEvents(t))
	restored := restoreInto(t, folded, NewKeyIndex())
	d1, d2 := digests(t, []Snapshotter{folded}), digests(t, []Snapshotter{restored})
	if !maps.Equal(d1, d2) || restored.Len() != 2 {
		t.Fatal("restored index differs from the folded one")
	}
	// The restored index keeps folding.
	more := domain.NewEvent("e7", "org1", domain.AggKey, "k1", domain.Meta{Time: time.Now()}, domain.KeyInvalidated{})
	if err := restored.Apply(more); err != nil || !scanned(restored, "org1", "p1")[0].Invalidated {
		t.Fatalf("apply after restore: %v", err)
	}
}

// Records hands out a copy of the record pointers, and a record once
// handed out never changes: an update or a revocation replaces it. So a
// query reads its copy without the lock while the index folds on.
func TestKeyIndexRecordsHandedOutNeverChange(t *testing.T) {
	ix := NewKeyIndex()
	evs := keyIndexEvents(t)
	for _, ev := range evs[:3] {
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	before := ix.Records("org1", "p1", nil)
	k1, k3 := *before[0], *before[1]
	for _, ev := range evs[3:] {
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(*before[0], k1) || !reflect.DeepEqual(*before[1], k3) || before[1].Invalidated {
		t.Fatal("folding changed a record a query was reading")
	}
	after := ix.Records("org1", "p1", nil)
	if after[0] == before[0] || after[0].Metadata[0].Value != "b" || !after[1].Invalidated {
		t.Fatalf("the index did not fold the update and the revocation: %+v %+v", *after[0], *after[1])
	}
}

// A key index on a table shared with other projections finds each key's
// record by the slot the table gave it, whichever projection numbered the
// key first, after a fold and after a restore into a table numbered in
// another order: the update, the revocation and the lookup by id reach the
// right record.
func TestKeyIndexOnASharedTableFindsEachKeyWhoeverNumberedItFirst(t *testing.T) {
	evs := keyIndexEvents(t)
	table := NewKeyTable()
	table.slotFor("other") // a key of another projection takes slot 0
	ix := NewKeyIndexIn(table)
	fold(t, []Snapshotter{ix, NewAuthIndexIn(table)}, evs[:3])
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := NewKeyTable()
	for _, id := range []domain.KeyID{"k3", "zz", "k2", "k1"} {
		other.slotFor(id)
	}
	restored := NewKeyIndexIn(other)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]*KeyIndex{"folded": ix, "restored": restored} {
		fold(t, []Snapshotter{x}, evs[3:])
		recs := x.RecordsWithIDs("org1", "p1", []string{"k3", "k1", "k2", "zz"}, nil)
		if len(recs) != 2 || recs[0].ID != "k1" || recs[1].ID != "k3" || x.Len() != 2 {
			t.Fatalf("%s: records by id %+v", name, recs)
		}
		if recs[0].Metadata[0].Value != "b" || recs[0].Expires != 0 || !recs[1].Invalidated || recs[0].Invalidated {
			t.Fatalf("%s: updates folded into the wrong records: %+v %+v", name, *recs[0], *recs[1])
		}
		if got := x.RecordsWithIDs("org2", "p1", []string{"k1"}, nil); len(got) != 0 {
			t.Fatalf("%s: another tenant finds %+v", name, got)
		}
	}
}

// Keys of equal few-valued metadata share one flattened copy of it, in a
// fold and after a restore; an update of one key's metadata gives it a
// copy of its own and leaves the others' alone.
func TestKeysOfEqualMetadataShareItAndAnUpdateOfOneLeavesTheOthersAlone(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := domain.HashSecret([]byte("s")).String()
	var evs []domain.Event
	for i, id := range []string{"a", "b", "c"} {
		evs = append(evs, domain.NewEvent("c"+id, "org1", domain.AggKey, id, domain.Meta{Time: t0.Add(time.Duration(i))},
			domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Scope: domain.ScopeProject, Project: "p1", Hash: h,
				Metadata: map[string]any{"team": "web", "env": "prod"}}))
	}
	folded := NewKeyIndex()
	fold(t, []Snapshotter{folded}, evs)
	restored := restoreInto(t, folded, NewKeyIndex())
	newMeta := map[string]any{"team": "db", "env": "prod"}
	update := domain.NewEvent("u", "org1", domain.AggKey, "b", domain.Meta{Time: t0}, domain.KeyUpdated{Metadata: &newMeta})
	for name, ix := range map[string]*KeyIndex{"folded": folded, "restored": restored} {
		recs := ix.Records("org1", "p1", nil)
		if len(recs) != 3 || &recs[0].Metadata[0] != &recs[1].Metadata[0] || &recs[1].Metadata[0] != &recs[2].Metadata[0] {
			t.Fatalf("%s: equal metadata not shared", name)
		}
		fold(t, []Snapshotter{ix}, []domain.Event{update})
		after := ix.Records("org1", "p1", nil)
		for i, want := range []string{"web", "db", "web"} {
			if got := after[i].Metadata[1].Value; got != want || recs[i].Metadata[1].Value != "web" {
				t.Fatalf("%s: key %d's team is %s after the update of key 1 (was %s), want %s", name, i, got, recs[i].Metadata[1].Value, want)
			}
		}
	}
}

// TestAKeyCreatedAgainInItsProjectIsIndexedByItsNewFields: the log
// creates a key again (no command does) in its project under another
// name, owner, creation and metadata; the index answers from the new
// ones (as the key list does), not the first, folded and restored.
func TestAKeyCreatedAgainInItsProjectIsIndexedByItsNewFields(t *testing.T) {
	ix := NewKeyIndex()
	create := func(id, name, user string, at time.Time, md map[string]any) {
		ev := domain.NewEvent("e-"+id+name, "o1", domain.AggKey, id, domain.Meta{Time: at},
			domain.KeyCreated{KeyID: domain.KeyID(id), Name: name, Scope: domain.ScopeProject, Project: "p1",
				Owner: domain.Owner{User: user, Realm: "native"}, Hash: hashHex, Metadata: md})
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		create(fmt.Sprint("k", i), fmt.Sprint("old-", i), "alice", t0, map[string]any{"team": "red"})
	}
	create("k3", "new", "bob", t0.Add(time.Hour), map[string]any{"team": "blue"})
	for name, x := range map[string]*KeyIndex{"folded": ix, "restored": restoreInto(t, ix, NewKeyIndex())} {
		bob, _ := x.RecordsWithTerms("o1", "p1", "username", []string{"bob"}, nil)
		blue, _ := x.RecordsWithTerms("o1", "p1", "metadata.team", []string{"blue"}, nil)
		red, _ := x.RecordsWithTerms("o1", "p1", "metadata.team", []string{"red"}, nil)
		newest, _ := x.RecordsAtEnds("o1", "p1", 1, true, nil)
		if got := recIDs(bob); !slices.Equal(got, []domain.KeyID{"k3"}) {
			t.Errorf("%s: bob's records %v", name, got)
		}
		if got := recIDs(blue); !slices.Equal(got, []domain.KeyID{"k3"}) || len(red) != 19 {
			t.Errorf("%s: blue %v, %d red", name, got, len(red))
		}
		if got := recIDs(x.RecordsNamed("o1", "p1", "new", nil)); !slices.Equal(got, []domain.KeyID{"k3"}) {
			t.Errorf("%s: named new %v", name, got)
		}
		if got := x.RecordsNamed("o1", "p1", "old-3", nil); len(got) != 0 {
			t.Errorf("%s: named old-3 %v", name, recIDs(got))
		}
		if got := recIDs(newest); !slices.Contains(got, "k3") {
			t.Errorf("%s: newest %v", name, got)
		}
		if x.Len() != 20 {
			t.Errorf("%s: %d keys", name, x.Len())
		}
	}
}
