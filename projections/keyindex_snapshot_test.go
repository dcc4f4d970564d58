package projections

import (
	"encoding/binary"
	"maps"
	"os"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// keyIndexFixtureEvents are keyIndexEvents and keys of a second project of
// another tenant: one expiring, a cross-cluster one, one revoked.
func keyIndexFixtureEvents(t *testing.T) []domain.Event {
	evs := keyIndexEvents(t)
	t0 := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	exp := t0.Add(90 * 24 * time.Hour)
	h := domain.HashSecret([]byte("s")).String()
	evs = append(evs,
		domain.NewEvent("f1", "org2", domain.AggKey, "m1", domain.Meta{Time: t0}, domain.KeyCreated{KeyID: "m1", Name: "deploy",
			Scope: domain.ScopeProject, Project: "p2", Owner: domain.Owner{User: "w", Realm: domain.RealmProject}, Hash: h, Expires: &exp,
			Metadata: map[string]any{"team": "a", "tier": map[string]any{"level": 3.0}}}),
		domain.NewEvent("f2", "org2", domain.AggKey, "m2", domain.Meta{Time: t0.Add(time.Millisecond)}, domain.KeyCreated{KeyID: "m2",
			Name: "remote", Scope: domain.ScopeProject, Project: "p2", Type: domain.KeyCrossCluster, Owner: domain.Owner{User: "w",
				Realm: domain.RealmProject}, Hash: h}),
		domain.NewEvent("f3", "org2", domain.AggKey, "m1", domain.Meta{Time: t0.Add(time.Hour)}, domain.KeyRotated{Expires: t0.Add(2 * time.Hour)}),
		domain.NewEvent("f4", "org2", domain.AggKey, "m2", domain.Meta{Time: t0.Add(time.Hour)}, domain.KeyInvalidated{}),
	)
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
	}
	return evs
}

// Snapshots a released keyplane wrote (keyindex@1, JSON; keyindex@2,
// binary without indexes; each fixture holds the fold of
// keyIndexFixtureEvents) still restore, through the runner, into the
// index a fold of the same events gives: the same records, and the same
// snapshot of the current version, its indexes built from the records.
func TestAReleasedKeyIndexSnapshotStillRestores(t *testing.T) {
	for _, c := range []struct{ name, file string }{{"keyindex@1", "testdata/keyindex@1.json"}, {"keyindex@2", "testdata/keyindex@2.bin"}} {
		old, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		folded := NewKeyIndex()
		fold(t, []Snapshotter{folded}, keyIndexFixtureEvents(t))
		restored := NewKeyIndexIn(NewKeyTable())
		behind, err := NewRunner(restored).Resume(SavedState{Seq: 10, Parts: map[string][]byte{c.name: old}})
		if err != nil || len(behind) != 0 {
			t.Fatalf("resume from a %s part: %v, %d projections behind", c.name, err, len(behind))
		}
		for _, p := range []struct {
			t  domain.TenantID
			pr domain.ProjectID
		}{{"org1", "p1"}, {"org2", "p2"}} {
			if got, want := scanned(restored, p.t, p.pr), scanned(folded, p.t, p.pr); len(want) != 2 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: project %s restored %+v, folded %+v", c.name, p.pr, got, want)
			}
		}
		if d1, d2 := digests(t, []Snapshotter{folded}), digests(t, []Snapshotter{restored}); !maps.Equal(d1, d2) {
			t.Fatalf("the index restored from %s snapshots differently from the folded one", c.name)
		}
		if restored.Len() != 4 || len(restored.RecordsWithIDs("org2", "p2", []string{"m2"}, nil)) != 1 {
			t.Fatalf("the index restored from %s does not find its keys by id", c.name)
		}
	}
}

// A damaged key index snapshot is refused with an error, never a panic or
// a half-restored index.
func TestADamagedKeyIndexSnapshotIsRefused(t *testing.T) {
	ix := NewKeyIndex()
	fold(t, []Snapshotter{ix}, keyIndexFixtureEvents(t))
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{snap[:len(snap)-1], snap[:len(snap)/2], append(append([]byte{}, snap...), 0), {0xff}} {
		fresh := NewKeyIndex()
		if err := fresh.Restore(bad); err == nil || fresh.Len() != 0 {
			t.Fatalf("a damaged snapshot of %d bytes restored (%v, %d keys)", len(bad), err, fresh.Len())
		}
	}
	if err := NewKeyIndex().RestoreOlder("keyindex@1", []byte(`{"p1": {"records": [null]}}`)); err == nil {
		t.Fatal("a null record in a JSON snapshot restored")
	}
}

// A snapshot whose count of keys claims more than its bytes can hold (each
// key takes tens of bytes) is refused without allocating for that count:
// a length field is bounded by what is left before anything is made.
func TestASnapshotCountingMoreKeysThanItHoldsAllocatesNoMoreThanItsBytes(t *testing.T) {
	const size = 1 << 20
	b := binary.AppendUvarint(nil, size-8)
	b = append(b, make([]byte, size-len(b))...)
	for _, p := range []Snapshotter{NewKeys(), NewKeyIndex(), NewAuthIndex(), NewExpiry(nil)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := p.Restore(b)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s restored %d keys of zeros", p.Name(), size-8)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8*size {
			t.Errorf("%s: a %d-byte snapshot allocated %d MB", p.Name(), size, grew>>20)
		}
	}
}
