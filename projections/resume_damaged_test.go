package projections

import (
	"testing"
	"time"
)

// A resume whose parts are restored at once, the late key placers waiting
// for the auth index before they place keys, fails on any damaged part,
// a lister's or a late placer's, rather than hang.
func TestAResumeWithADamagedPartFailsRatherThanHangs(t *testing.T) {
	s, _ := scatteredCheckpoint(t, 3*restoreRun)
	for name := range s.Parts {
		for _, cut := range []int{1, 2, 10} {
			bad := SavedState{Seq: s.Seq, Parts: map[string][]byte{}}
			for k, v := range s.Parts {
				bad.Parts[k] = v
			}
			b := s.Parts[name]
			bad.Parts[name] = b[:len(b)*(cut-1)/cut]
			done := make(chan error, 1)
			go func() { r, _, _, _ := resumeWiring(); _, err := r.Resume(bad); done <- err }()
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
