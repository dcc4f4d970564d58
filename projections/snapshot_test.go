package projections

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// richTrail is trail() plus keys with role descriptors, metadata, an
// expiration far in the future and a claim.
func richTrail(t *testing.T) []domain.Event {
	t.Helper()
	evs := trail()
	var rds domain.RoleDescriptors
	if err := json.Unmarshal([]byte(`{"ro":{"cluster":["monitor"],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`), &rds); err != nil {
		t.Fatal(err)
	}
	far := time.Date(9999, 12, 31, 23, 59, 59, 999, time.UTC)
	more := []domain.Payload{
		domain.KeyCreated{KeyID: "k3", Name: "rich", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice", Realm: "native"},
			Hash: hashHex, Expires: &far, RoleDescriptors: rds, LimitedBy: []domain.RoleDescriptors{rds}, Metadata: map[string]any{"team": "sre", "n": 1.5, "nested": []any{"x", true, nil, map[string]any{"b": false, "n": -2e300}}}},
		domain.KeyUpdated{Metadata: &map[string]any{}},
	}
	for i, p := range more {
		ev := domain.NewEvent("r", "o1", domain.AggKey, "k3", domain.Meta{Actor: alice, Time: t0.Add(time.Hour + time.Duration(i))}, p)
		ev.Seq = uint64(len(evs) + 1)
		evs = append(evs, ev)
	}
	claim := domain.NewEvent("c", "o2", domain.AggIdem, "h1", domain.Meta{Time: t0}, domain.IdempotencyKeyClaimed{KeyID: "k9", Request: "abc"})
	claim.Seq = uint64(len(evs) + 1)
	return append(evs, claim)
}

func freshProjections() []Snapshotter {
	return []Snapshotter{NewKeys(), NewAuthIndex(), NewClaims(), NewAudit()}
}

func fold(t *testing.T, ps []Snapshotter, evs []domain.Event) {
	t.Helper()
	for _, ev := range evs {
		for _, p := range ps {
			if err := p.Apply(ev); err != nil {
				t.Fatalf("%s at %d: %v", p.Name(), ev.Seq, err)
			}
		}
	}
}

func digests(t *testing.T, ps []Snapshotter) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range ps {
		name, d, ok, err := DigestOf(p)
		if err != nil || !ok {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = d
	}
	return out
}

// restoreInto restores a snapshot of from into to, and returns to.
func restoreInto[S Snapshotter](t *testing.T, from, to S) S {
	t.Helper()
	b, err := from.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := to.Restore(b); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestARestoredProjectionEqualsTheFoldedOneAndKeepsFolding(t *testing.T) {
	evs := richTrail(t)
	head, tail := evs[:len(evs)-3], evs[len(evs)-3:]
	folded := freshProjections()
	fold(t, folded, head)
	restored := freshProjections()
	for i, p := range folded {
		b, err := p.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := p.Snapshot(); !bytes.Equal(b, again) {
			t.Fatalf("%s: two snapshots of one state differ", p.Name())
		}
		if err := restored[i].Restore(b); err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
	}
	if d1, d2 := digests(t, folded), digests(t, restored); !reflect.DeepEqual(d1, d2) {
		t.Fatalf("digests after restore differ:\n%v\n%v", d1, d2)
	}
	fold(t, folded, tail)
	fold(t, restored, tail)
	if d1, d2 := digests(t, folded), digests(t, restored); !reflect.DeepEqual(d1, d2) {
		t.Fatalf("digests after folding on differ:\n%v\n%v", d1, d2)
	}
	// And they answer the same.
	fk, rk := folded[0].(*Keys), restored[0].(*Keys)
	a, _ := fk.Get("o1", "k3")
	b, _ := rk.Get("o1", "k3")
	if !a.Expires.Equal(b.Expires) || a.Name != b.Name || a.Seq != b.Seq || a.Hash != b.Hash || b.RoleDescriptors["ro"].Cluster[0] != "monitor" {
		t.Fatalf("restored key differs:\n%+v\n%+v", a, b)
	}
	fa, ra := folded[3].(*Audit), restored[3].(*Audit)
	q := AuditQuery{Tenant: "o1", Project: "p1", Size: 100}
	if x, _ := fa.Find(q); !reflect.DeepEqual(x, first(ra.Find(q))) {
		t.Fatalf("restored audit answers %v, folded %v", first(ra.Find(q)), x)
	}
	if got := restored[1].(*AuthIndex).Len(); got != fk.Len() {
		t.Fatalf("restored auth index has %d keys, want %d", got, fk.Len())
	}
}

func first[A, B any](a A, _ B) A { return a }

func TestDigestsTellDifferentStatesApart(t *testing.T) {
	evs := richTrail(t)
	all, noClaim, noUpdate := freshProjections(), freshProjections(), freshProjections()
	fold(t, all, evs)
	fold(t, noClaim, evs[:len(evs)-1])
	fold(t, noUpdate, evs[:len(evs)-2])
	d, dc, du := digests(t, all), digests(t, noClaim), digests(t, noUpdate)
	for _, c := range []struct {
		name      string
		a, b      string
		wantEqual bool
	}{
		{"claims without the last claim", d["claims@1"], dc["claims@1"], false},
		{"keys without a claim", d["keys@5"], dc["keys@5"], true},
		{"audit without a claim (not audited)", d["audit@2"], dc["audit@2"], true},
		{"keys without an update", d["keys@5"], du["keys@5"], false},
		{"audit without an update", d["audit@2"], du["audit@2"], false},
		{"auth without a metadata update", d["auth@1"], du["auth@1"], true},
	} {
		if (c.a == c.b) != c.wantEqual {
			t.Errorf("%s: digests equal = %v, want %v", c.name, c.a == c.b, c.wantEqual)
		}
	}
}

func TestRestoreRefusesDamagedPartsAndKeepsTheOldState(t *testing.T) {
	for _, p := range freshProjections() {
		fold(t, []Snapshotter{p}, richTrail(t))
		b, _ := p.Snapshot()
		before, _ := p.Snapshot()
		for _, bad := range [][]byte{b[:len(b)/2], append(append([]byte{}, b...), 7), {0xff, 0xff, 0xff}} {
			if err := p.Restore(bad); err == nil {
				t.Fatalf("%s restored a damaged snapshot", p.Name())
			}
		}
		if after, _ := p.Snapshot(); !bytes.Equal(before, after) {
			t.Fatalf("%s changed after a failed restore", p.Name())
		}
	}
}

func TestSavedStateRefusesCorruptAndForeignSnapshots(t *testing.T) {
	good := SavedState{Seq: 42, EventID: "e42", Time: t0, Parts: map[string][]byte{"keys@4": {1, 2, 3}, "audit@1": nil}}.Encode()
	s, err := DecodeSavedState(good)
	if err != nil || s.Seq != 42 || s.EventID != "e42" || !s.Time.Equal(t0) || !bytes.Equal(s.Parts["keys@4"], []byte{1, 2, 3}) {
		t.Fatalf("decode = %+v, %v", s, err)
	}
	flipped := append([]byte{}, good...)
	flipped[len(snapMagic)+3] ^= 0x40
	otherVersion := append([]byte{}, good...)
	otherVersion[len(snapMagic)] = ProjectionVersion + 1
	for name, b := range map[string][]byte{
		"empty":         nil,
		"not ours":      []byte("{\"hello\":\"world\"} and some more bytes to pass the length check"),
		"flipped bit":   flipped,
		"truncated":     good[:len(good)-5],
		"other version": resum(otherVersion),
	} {
		if _, err := DecodeSavedState(b); !errors.Is(err, ErrSnapshotUnusable) {
			t.Errorf("%s: err = %v, want ErrSnapshotUnusable", name, err)
		}
	}
}

// TestSnapshotHasherChecksAsItReads: the checksum taken from the bytes as
// they arrive, in pieces of any size (some shorter than the checksum, so
// that it straddles them), accepts exactly what DecodeSavedState accepts,
// and refuses bytes other than those it saw.
func TestSnapshotHasherChecksAsItReads(t *testing.T) {
	parts := map[string][]byte{"keys@4": bytes.Repeat([]byte{1, 2, 3}, 100), "audit@1": nil}
	good := SavedState{Seq: 42, EventID: "e42", Time: t0, Parts: parts}.Encode()
	flipped := append([]byte{}, good...)
	flipped[len(flipped)/2] ^= 1
	hashed := func(b []byte, piece int) *SnapshotHasher {
		var h SnapshotHasher
		for rest := b; len(rest) > 0; {
			n := min(piece, len(rest))
			h.Write(rest[:n])
			rest = rest[n:]
		}
		return &h
	}
	for _, piece := range []int{1, 5, 31, 32, 33, 100, len(good)} {
		s, err := DecodeHashedState(good, hashed(good, piece))
		if err != nil || s.Seq != 42 || !bytes.Equal(s.Parts["keys@4"], parts["keys@4"]) {
			t.Errorf("pieces of %d: %+v, %v", piece, s, err)
		}
		if _, err := DecodeHashedState(flipped, hashed(flipped, piece)); !errors.Is(err, ErrSnapshotUnusable) {
			t.Errorf("pieces of %d: a flipped bit gave %v, want ErrSnapshotUnusable", piece, err)
		}
	}
	for name, h := range map[string]*SnapshotHasher{
		"saw other bytes":  hashed(flipped, 7),
		"saw a part":       hashed(good[:len(good)-1], 7),
		"saw more":         hashed(append(append([]byte{}, good...), 0), 7),
		"saw nothing":      {},
		"saw bytes before": hashed(append([]byte{9}, good...), 7),
	} {
		if _, err := DecodeHashedState(good, h); !errors.Is(err, ErrSnapshotUnusable) {
			t.Errorf("a hasher that %s: %v, want ErrSnapshotUnusable", name, err)
		}
	}
}

// resum recomputes the checksum of a snapshot edited on purpose.
func resum(b []byte) []byte {
	body := append([]byte{}, b[:len(b)-sha256.Size]...)
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}

// The snapshot encodes domain.Key field by field (its actors and owners as
// JSON): a new field would be lost on every restart. Adding one must come
// with encodeKey/decodeKey and a new "keys@N"; this test is the reminder.
func TestKeySnapshotCoversEveryField(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{domain.Key{}, 23}} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.want {
			t.Errorf("%T has %d fields, the snapshot encodes %d: update keys_snapshot.go and its version", c.v, n, c.want)
		}
	}
}

// A checkpoint taken while events keep coming is the state at its own
// sequence: restored and folded on, it equals a fold of the whole log.
func TestACheckpointTakenDuringFoldingIsConsistent(t *testing.T) {
	var evs []domain.Event
	for i := range 3000 {
		id := domain.KeyID(fmt.Sprintf("k%04d", i%700))
		var p domain.Payload = domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: hashHex,
			Metadata: map[string]any{"i": float64(i)}}
		if i >= 700 {
			md := map[string]any{"i": float64(i)}
			p = domain.KeyUpdated{Metadata: &md}
		}
		ev := domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Actor: alice, Time: t0.Add(time.Duration(i))}, p)
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	live := freshProjections()
	r := NewRunner(appliers(live)...)
	done := make(chan error, 1)
	go func() {
		for _, ev := range evs {
			if err := r.Apply(ev); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for r.Applied() < 800 {
		time.Sleep(time.Millisecond)
	}
	cp, _, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	restored := freshProjections()
	r2 := NewRunner(appliers(restored)...)
	if _, err := r2.Resume(cp); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[cp.Seq:] {
		if err := r2.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if d1, d2 := digests(t, live), digests(t, restored); !reflect.DeepEqual(d1, d2) {
		t.Fatalf("checkpoint at %d, restored and folded on, differs from the fold:\n%v\n%v", cp.Seq, d1, d2)
	}
}

func appliers(ps []Snapshotter) []Applier {
	out := make([]Applier, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// A resume restores every projection on one key table at once: the key
// index and the audit trail, whose snapshots name keys in creation order,
// decode beside the others but place their keys only once the auth index
// has numbered the table in id order, and each ends with its own keys.
func TestAResumeNumbersTheKeyTableInIDOrderWhateverOrderKeysWereMadeIn(t *testing.T) {
	const n = 3 * restoreRun // several runs of the table's lock
	s, evs := scatteredCheckpoint(t, n)
	fresh, tbl, ix, audit := resumeWiring()
	if _, err := fresh.Resume(s); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(tbl.ids) || len(tbl.ids) != n {
		t.Fatalf("table of %d ids, sorted %v", len(tbl.ids), slices.IsSorted(tbl.ids))
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		id := evs[i].AggID
		recs := ix.RecordsWithIDs("o1", "p1", []string{id}, nil)
		if len(recs) != 1 || string(recs[0].ID) != id || recs[0].Name != "key-"+id {
			t.Fatalf("key index holds %s as %+v", id, recs)
		}
		if seqs, _ := audit.Find(AuditQuery{Tenant: "o1", KeyID: domain.KeyID(id), Size: 10}); !slices.Equal(seqs, []uint64{evs[i].Seq}) {
			t.Fatalf("audit trail of %s: %v", id, seqs)
		}
		if audit.ProjectOfKey(domain.KeyID(id)) != "p1" {
			t.Fatalf("audit puts %s in project %q", id, audit.ProjectOfKey(domain.KeyID(id)))
		}
	}
}

// resumeWiring is every projection that keeps keys, on one key table, as
// the app wires them.
func resumeWiring() (*Runner, *KeyTable, *KeyIndex, *Audit) {
	tbl := NewKeyTable()
	ix, audit := NewKeyIndexIn(tbl), NewAuditIn(tbl)
	return NewRunner(NewKeysIn(tbl), NewAuthIndexIn(tbl), audit, NewExpiryIn(domain.DefaultNoticeWindows, tbl), ix, tbl.Quarantine()), tbl, ix, audit
}

// scatteredCheckpoint folds n keys of one project, created out of id
// order, each with a metadata id of its own and one of three teams, into
// a resumeWiring, and checkpoints it.
func scatteredCheckpoint(t *testing.T, n int) (SavedState, []domain.Event) {
	t.Helper()
	r, _, _, _ := resumeWiring()
	var evs []domain.Event
	for i := range n {
		id := domain.KeyID(fmt.Sprintf("k%05d", (i*7919)%n))
		ev := domain.NewEvent(fmt.Sprint("e", i), "o1", domain.AggKey, string(id), domain.Meta{Actor: alice, Time: t0.Add(time.Duration(i) * time.Second)},
			domain.KeyCreated{KeyID: id, Name: "key-" + string(id), Scope: domain.ScopeProject, Project: "p1", Type: domain.KeyPersonal,
				Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex, Metadata: map[string]any{"customer": string(id), "team": fmt.Sprint("t", i%3)}})
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	if err := r.ApplyAll(evs); err != nil {
		t.Fatal(err)
	}
	s, _, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return s, evs
}
