package projections

import (
	"testing"
)

// BenchmarkKeysFold folds KEYPLANE_BENCH_KEYS (default 1,000,000) key
// creations as BenchmarkScale makes them (scaleKeyEvents) into an empty
// key list, 256 at a time as the runner does: what a full replay spends
// in the key list, its indexes included.
func BenchmarkKeysFold(b *testing.B) {
	n := benchKeys(1_000_000)
	evs := scaleKeyEvents(b, n)
	for b.Loop() {
		ks := NewKeys()
		for start := 0; start < n; start += 256 {
			if _, err := ks.ApplyAll(evs[start:min(start+256, n)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
}
