package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// A resume whose parts are restored at once, the late key placers waiting
// for the auth index before they place keys, fails on any damaged part,
// a lister's or a late placer's, rather than hang.
func TestAResumeWithADamagedPartFailsRatherThanHangs(t *testing.T) {
	wire := func() *Runner {
		tbl := NewKeyTable()
		return NewRunner(NewKeysIn(tbl), NewAuthIndexIn(tbl), NewAuditIn(tbl), NewExpiryIn(domain.DefaultNoticeWindows, tbl), NewKeyIndexIn(tbl), tbl.Quarantine())
	}
	r := wire()
	const n = 3 * restoreRun
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
	for name := range s.Parts {
		for _, cut := range []int{1, 2, 10} {
			bad := SavedState{Seq: s.Seq, Parts: map[string][]byte{}}
			for k, v := range s.Parts {
				bad.Parts[k] = v
			}
			b := s.Parts[name]
			bad.Parts[name] = b[:len(b)*(cut-1)/cut]
			done := make(chan error, 1)
			go func() { _, err := wire().Resume(bad); done <- err }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s cut to %d/%d: no error", name, cut-1, cut)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: resume hangs", name)
			}
		}
	}
}
