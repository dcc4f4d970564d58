package commands

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
)

func TestRandomIDsAreFreshAndWellFormed(t *testing.T) {
	var r RandomIDs
	ids, secrets := map[domain.KeyID]bool{}, map[domain.Secret]bool{}
	for range 100 {
		id, s := r.KeyID(), r.Secret()
		if len(id) != 20 || !domain.ValidToken(string(id)) || ids[id] {
			t.Fatalf("key id %q: want 20 fresh URL-safe characters", id)
		}
		if len(s) != domain.SecretLen || secrets[s] {
			t.Fatalf("secret %q: want %d fresh characters", s, domain.SecretLen)
		}
		ids[id], secrets[s] = true, true
	}
	if a, b := r.TenantID(), r.TenantID(); a == b || !domain.ValidToken(string(a)) {
		t.Fatalf("tenant ids %q %q: want two fresh tokens", a, b)
	}
	if a, b := r.ProjectID(), r.ProjectID(); a == b || !domain.ValidToken(string(a)) {
		t.Fatalf("project ids %q %q: want two fresh tokens", a, b)
	}
}

// fixedIDs answers known ids, as a test of a command's outcome needs.
type fixedIDs struct{ RandomIDs }

func (fixedIDs) KeyID() domain.KeyID   { return "VuaCfGcBCdbkQm-e5aOx" }
func (fixedIDs) Secret() domain.Secret { return "ui2lp2axTNmsyakw9tvNnw" }

func TestServiceDrawsFromItsIDSource(t *testing.T) {
	if got := (&Service{}).ids(); got != (RandomIDs{}) {
		t.Errorf("a service without a source draws from %T, want RandomIDs", got)
	}
	s := &Service{IDs: fixedIDs{}}
	if id := s.ids().KeyID(); id != "VuaCfGcBCdbkQm-e5aOx" {
		t.Errorf("key id %q: want the injected source's", id)
	}
}
