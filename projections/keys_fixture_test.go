package projections

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// keysFixture is a keys@4 snapshot written by the key list of commit
// bec5934, which kept domain.Keys (before records), from the events of
// fixtureKeyEvents.
const keysFixture = "testdata/keys@4.snap"

// fixtureKeyEvents are keys of two tenants as both APIs make them, and
// what happens to keys: a revocation, a rotation, an update of metadata,
// a use, an expiry past 2262, no metadata at all.
func fixtureKeyEvents(t testing.TB) []domain.Event {
	var rds, limits domain.RoleDescriptors
	if err := json.Unmarshal([]byte(`{"reader":{"cluster":[],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`), &rds); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"admin":{"cluster":["all"],"indices":[{"names":["*"],"privileges":["all"]}]}}`), &limits); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 2, 9, 30, 0, 123456789, time.UTC)
	far := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []domain.Event
	add := func(tenant domain.TenantID, agg, id string, p domain.Payload) {
		i := len(evs)
		ev := domain.NewEvent(fmt.Sprint(i), tenant, agg, id, domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "u1", Name: "Ann"},
			Time: base.Add(time.Duration(i) * time.Minute)}, p)
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	for i := range 8 {
		id := fmt.Sprintf("key%02d", i)
		tenant := domain.TenantID([]string{"o1", "o2"}[i%2])
		c := domain.KeyCreated{KeyID: domain.KeyID(id), Name: fmt.Sprintf("key-%d", i), Scope: domain.ScopeProject, Project: "p1",
			Type: domain.KeyPersonal, Owner: domain.Owner{User: "u1", Realm: domain.RealmMembers}, Hash: hashHex,
			Metadata: map[string]any{"team": fmt.Sprintf("team-%d", i%3), "n": i}}
		switch i % 4 {
		case 0: // Elasticsearch's API
			c.RoleDescriptors, c.LimitedBy = rds, []domain.RoleDescriptors{limits}
		case 1: // the console's
			exp := base.Add(90 * 24 * time.Hour)
			c.RoleDescriptors, c.Expires = domain.RoleDescriptors{}, &exp
		case 2:
			c.Scope, c.Project, c.Metadata, c.Expires = domain.ScopeOrg, "", nil, &far
		case 3:
			c.Owner, c.Type, c.Metadata = domain.Owner{User: "u2", Realm: "_es_api_key", ByKey: "key00"}, domain.KeyManaged, map[string]any{}
		}
		add(tenant, domain.AggKey, id, c)
	}
	add("o1", domain.AggKey, "key00", domain.KeyInvalidated{Reason: "done"})
	add("o2", domain.AggKey, "key01", domain.KeyRotated{RotatedTo: "key03", Expires: base.Add(48 * time.Hour)})
	m := map[string]any{"team": "new", "tags": []any{"a", true, nil, 2.5}}
	add("o1", domain.AggKey, "key04", domain.KeyUpdated{Metadata: &m})
	add("o2", domain.AggKeyUse, "key05", domain.KeyUsed{KeyID: "key05", Used: base.Add(3 * time.Hour)})
	return evs
}

// A snapshot written before the key list kept records restores (as
// keys@4, which keys@5 upgrades): into the keys the plain fold of its
// events gives, and written again its keys are the same bytes, its
// digest that of the old snapshot.
func TestAKeysSnapshotWrittenBeforeRecordsRestores(t *testing.T) {
	old, err := os.ReadFile(keysFixture)
	if err != nil {
		t.Fatal(err)
	}
	restored := NewKeys()
	if err := restored.RestoreOlder(keysV4, old); err != nil {
		t.Fatal(err)
	}
	want, order := foldPlain(fixtureKeyEvents(t))
	if restored.Len() != len(want) {
		t.Fatalf("%d keys restored, want %d", restored.Len(), len(want))
	}
	for _, id := range order {
		w := want[id]
		if got, ok := restored.Get(w.Tenant, id); !ok || !reflect.DeepEqual(got, *w) {
			t.Errorf("restored %s\n got %+v\nwant %+v", id, got, *w)
		}
	}
	if again := keysPart(t, restored); !bytes.Equal(again, old) {
		t.Error("written again, the keys differ")
	}
	// A saved state holding it resumes the key list (Upgrader): no fold.
	if behind, err := NewRunner(NewKeys()).Resume(SavedState{Seq: 10, Parts: map[string][]byte{keysV4: old}}); err != nil || len(behind) != 0 {
		t.Errorf("a saved state of keys@4 leaves %d projections behind (%v)", len(behind), err)
	}
	sum := sha256.Sum256(old)
	if d, err := restored.Digest(); err != nil || d != hex.EncodeToString(sum[:]) {
		t.Errorf("the digest %s (%v) is not the keys@4 snapshot's", d, err)
	}
}

// A keys snapshot whose metadata, in its compact encoding, is damaged (or
// no object) is refused, as it was before records kept the encoding as
// it comes: the key would otherwise come back without its metadata.
func TestAKeysSnapshotWithDamagedMetadataIsRefused(t *testing.T) {
	ks := NewKeys()
	for _, ev := range fixtureKeyEvents(t) {
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := ks.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var enc metaEncoder
	body, _ := enc.encode(map[string]any{"team": "new", "tags": []any{"a", true, nil, 2.5}})
	at := bytes.Index(snap, body)
	if at < 0 {
		t.Fatal("the fixture's metadata is not in its snapshot")
	}
	for name, damage := range map[string]func(b []byte){
		"no object":   func(b []byte) { b[at] = anyString },
		"unknown tag": func(b []byte) { b[at] = 0x7f },
		"short count": func(b []byte) { b[at+1]-- },
	} {
		b := bytes.Clone(snap)
		damage(b)
		if err := NewKeys().Restore(b); err == nil {
			t.Errorf("%s: a snapshot with damaged metadata restored", name)
		}
	}
}

// A keys snapshot that holds a key twice is refused, in whichever run of
// the restore the second one comes, as the expiry schedule's is: restored,
// the key was listed twice and counted once.
func TestAKeysSnapshotHoldingAKeyTwiceIsRefused(t *testing.T) {
	ks := NewKeys()
	for i := range recRun + 2 {
		id := domain.KeyID(fmt.Sprintf("k%05d", i))
		c := domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeProject, Project: "p1", Type: domain.KeyPersonal,
			Owner: domain.Owner{User: "u1", Realm: domain.RealmMembers}, Hash: hashHex}
		ev := domain.NewEvent(fmt.Sprint(i), "o1", domain.AggKey, string(id), domain.Meta{Time: t0}, c)
		ev.Seq = uint64(i + 1)
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	recs := ks.records()
	for name, dup := range map[string]*keyRec{"within a run": recs[1], "across two runs": recs[recRun-1]} {
		w, err := encodeRecs(append(slices.Clone(recs), dup))
		if err != nil {
			t.Fatal(err)
		}
		restored := NewKeys()
		if err := restored.RestoreOlder(keysV4, w.buf); err == nil {
			t.Errorf("%s: a snapshot holding a key twice restored (%d keys counted)", name, restored.count)
		}
	}
}
