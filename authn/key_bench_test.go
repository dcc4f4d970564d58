package authn

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkKey measures what every request with an API key costs here:
// parse the credential, verify it, build the principal with its owner's
// live role (one allocation: the permission's slice).
func BenchmarkKey(b *testing.B) {
	w := newWorld(b)
	cred := w.key(acme, "key-1", member("bob"), domain.ScopeOrg, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.a.Key(cred); err != nil {
			b.Fatal(err)
		}
	}
}
