package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkKeyIndexFoldCreates folds key creations into one project's
// index, its indexes maintained as it goes: the fold's cost per key.
func BenchmarkKeyIndexFoldCreates(b *testing.B) {
	evs := make([]domain.Event, b.N)
	for i := range evs {
		id := domain.KeyID(fmt.Sprintf("key%08d", i))
		exp := t0.Add(time.Duration(1+i%365) * 24 * time.Hour)
		evs[i] = domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Time: t0.Add(time.Duration(i) * time.Millisecond)},
			domain.KeyCreated{KeyID: id, Name: fmt.Sprint("key-", i), Scope: domain.ScopeProject, Project: "p1", Expires: &exp,
				Owner: domain.Owner{User: fmt.Sprint("user", i%50), Realm: "native"}, Hash: hashHex, Metadata: map[string]any{"team": fmt.Sprint("team-", i%10)}})
	}
	ix := NewKeyIndex()
	b.ResetTimer()
	for _, ev := range evs {
		if err := ix.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
}
