package projections

import (
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// BenchmarkKeyTableSlot looks up ids in a table of 1,000,000 (slotIndex)
// and, as the baseline of the same run, in a Go map from id to slot: ids
// copied (as a restore or a request holds them), in a scattered order.
func BenchmarkKeyTableSlot(b *testing.B) {
	const n = 1_000_000
	ids := make([]domain.KeyID, n)
	for i := range ids {
		ids[i] = keyIDOf(i)
	}
	tbl := NewKeyTable()
	m := map[domain.KeyID]uint32{}
	for i, id := range ids {
		tbl.slotFor(id)
		m[id] = uint32(i)
	}
	for i, id := range ids {
		ids[i] = domain.KeyID(strings.Clone(string(id)))
	}
	b.Run("slotIndex", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := tbl.slots.find(string(ids[i]), tbl.ids); !ok {
				b.Fatal("lost")
			}
			i = (i + 7919) % n
		}
	})
	b.Run("map", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := m[ids[i]]; !ok {
				b.Fatal("lost")
			}
			i = (i + 7919) % n
		}
	})
}
