package projections

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// TestReserveKeepsWhatIsFolded: Reserve sizes empty projections only; on
// one that already holds keys it must not drop them.
func TestReserveKeepsWhatIsFolded(t *testing.T) {
	tenant := commands.Random{}.TenantID()
	id := commands.Random{}.KeyID()
	created := domain.NewEvent("e1", tenant, domain.AggKey, string(id), domain.Meta{}, domain.KeyCreated{
		KeyID: id, Name: "k", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: domain.HashSecret([]byte("s")).String()})
	created.Seq = 1
	for _, reserveFirst := range []bool{true, false} {
		keys, auth, expiry := NewKeys(), NewAuthIndex(), NewExpiry(nil)
		r := NewRunner(keys, auth, expiry)
		if reserveFirst {
			r.Reserve(1000)
		}
		if err := r.Apply(created); err != nil {
			t.Fatal(err)
		}
		r.Reserve(1000)
		if _, ok := keys.Get(tenant, id); !ok || keys.Len() != 1 {
			t.Fatalf("reserve first=%v: the key list lost its key", reserveFirst)
		}
		if v := auth.Verify([]byte(id), []byte("s"), time.Now()); v != Valid {
			t.Fatalf("reserve first=%v: the auth index lost its key: verdict %v", reserveFirst, v)
		}
		if expiry.Len() != 0 {
			t.Fatalf("reserve first=%v: a key without expiry is scheduled", reserveFirst)
		}
	}
}
