package projections

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// keysOfManyRuns is a key list of n keys of three tenants, and an auth
// index on the same events.
func keysOfManyRuns(t *testing.T, n int) (*Keys, *AuthIndex) {
	t.Helper()
	ks, auth := NewKeys(), NewAuthIndex()
	for i := range n {
		id := domain.KeyID(fmt.Sprintf("id-%06d", i))
		c := domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("name-%d", i%977), Scope: domain.ScopeProject, Project: "p1",
			Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex}
		ev := domain.NewEvent(fmt.Sprint(i), domain.TenantID([]string{"o1", "o2", "o3"}[i%3]), domain.AggKey, string(id), domain.Meta{Time: t0}, c)
		ev.Seq = uint64(i + 1)
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
		if err := auth.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	return ks, auth
}

// A key list restored over several runs (their ids' slices handed back
// for the runs after), at once with an auth index on the same table,
// keeps nothing of the snapshot's bytes: overwritten after the restore,
// as a mapped snapshot's pages are dropped, they change nothing of it
// (run with -race).
func TestARestoredKeyListKeepsNothingOfTheSnapshotsBytes(t *testing.T) {
	n := 3*recRun + 17
	ks, auth := keysOfManyRuns(t, n)
	kb, err := ks.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ab, err := auth.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	wantK, wantA := bytes.Clone(kb), bytes.Clone(ab)
	table := NewKeyTable()
	rk, ra := NewKeysIn(table), NewAuthIndexIn(table)
	var wg sync.WaitGroup
	var errK, errA error
	wg.Go(func() { errK = rk.Restore(kb) })
	wg.Go(func() { errA = ra.Restore(ab) })
	wg.Wait()
	if errK != nil || errA != nil {
		t.Fatal(errK, errA)
	}
	for _, b := range [][]byte{kb, ab} {
		for i := range b {
			b[i] = 0xAA
		}
	}
	if got, _ := rk.Snapshot(); !bytes.Equal(got, wantK) {
		t.Error("the restored key list changed when the snapshot's bytes were overwritten")
	}
	if got, _ := ra.Snapshot(); !bytes.Equal(got, wantA) {
		t.Error("the restored auth index changed when the snapshot's bytes were overwritten")
	}
	if l, total := rk.List(Filter{Tenant: "o2", Now: t0}, Page{Size: -1}); len(l) != (n+1)/3 || total != (n+1)/3 {
		t.Errorf("o2 lists %d keys of %d, want %d", len(l), total, (n+1)/3) // every third from the second
	}
}

// A key list snapshot cut short anywhere, in its first run or a later
// one, is refused, and the restore returns (its decoder stops early while
// the placer waits for runs).
func TestAKeyListSnapshotCutShortInAnyRunIsRefused(t *testing.T) {
	ks, _ := keysOfManyRuns(t, 3*recRun+5)
	b := keysPart(t, ks)
	for _, cut := range []int{len(b) / 5, len(b) / 2, len(b) - 3} {
		if err := NewKeys().RestoreOlder(keysV4, b[:cut]); err == nil {
			t.Errorf("cut at %d of %d bytes: restored", cut, len(b))
		}
	}
}
