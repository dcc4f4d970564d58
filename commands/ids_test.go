package commands

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
)

func TestRandomIDsAreFreshAndWellFormed(t *testing.T) {
	var r Random
	ids, secrets := map[domain.KeyID]bool{}, map[domain.Secret]bool{}
	for range 100 {
		id, s := r.KeyID(), r.Secret()
		if len(id) != 20 || !domain.ValidToken(string(id)) || ids[id] {
			t.Fatalf("key id %q: want 20 fresh URL-safe characters", id)
		}
		if len(s) != domain.SecretLen || !domain.ValidToken(string(s)) || secrets[s] {
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
