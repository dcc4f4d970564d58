package projections

import (
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestActiveCountsOnlyTheTenantsActiveKeys(t *testing.T) {
	ks := NewKeys()
	exp := t0.Add(time.Hour)
	for i, e := range []domain.Event{
		created(1, "t1", "a"), created(2, "t1", "b"), created(3, "t1", "c"), created(4, "t2", "d"),
		keyEvent(5, "t1", "b", domain.KeyInvalidated{}),
		keyEvent(6, "t1", "c", domain.KeyUpdated{Expires: &exp}),
	} {
		if err := ks.Apply(e); err != nil {
			t.Fatal(i, err)
		}
	}
	if n := ks.Active("t1", t0); n != 2 {
		t.Fatalf("active now: %d, want a and c", n)
	}
	if n := ks.Active("t1", exp); n != 1 {
		t.Fatalf("active once c expired: %d, want a", n)
	}
	if n := ks.Active("t3", t0); n != 0 {
		t.Fatalf("a tenant without keys: %d", n)
	}
}

// BenchmarkActiveKeys counts the active keys of a tenant of 10,000 (what
// a create asks when its organization has max_active_keys): the whole
// count, and the copy of the tenant's key pointers that is all it does
// under the lock (the baseline: what List holds the lock for).
func BenchmarkActiveKeys(b *testing.B) {
	ks := NewKeys()
	for i := range 10_000 {
		if err := ks.Apply(created(uint64(i+1), "t1", domain.KeyID("k"+strconv.Itoa(i)))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if ks.Active("t1", t0) != 10_000 {
				b.Fatal("count")
			}
		}
	})
	b.Run("baseline=copy", func(b *testing.B) {
		for b.Loop() {
			if len(ks.snapshotOf("t1")) != 10_000 {
				b.Fatal("copy")
			}
		}
	})
}
