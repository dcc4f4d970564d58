package projections

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Listing and scanning keys evaluate their filters without the lock: a
// fold (a revocation) completes while a listing is in the middle of its
// filter, and while a scan is in the middle of its callback. Under the
// read lock, as before, the fold waited for them.
func TestKeyListingsHoldUpNoFold(t *testing.T) {
	evs := keyIndexEvents(t)
	for _, how := range []string{"List", "Select"} {
		ks := NewKeys()
		for _, ev := range evs[:3] {
			if err := ks.Apply(ev); err != nil {
				t.Fatal(err)
			}
		}
		i := 3
		foldMeanwhile := func(*domain.Key) bool {
			if i == len(evs) {
				return true
			}
			ev := evs[i]
			i++
			done := make(chan error, 1)
			go func() { done <- ks.Apply(ev) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: a fold waited for a listing's filter", how)
			}
			return true
		}
		if how == "List" {
			ks.List(Filter{Tenant: "org1", Match: foldMeanwhile}, Page{Size: -1})
		} else {
			ks.Select("org1", foldMeanwhile)
		}
		if k, _ := ks.Get("org1", "k3"); !k.Invalidated {
			t.Fatalf("%s: the revocation was not folded", how)
		}
	}
}
