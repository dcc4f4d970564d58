package api

import (
	"testing"

	"github.com/keyplane/keyplane/projections"
)

// Counting a verification must cost the auth hot path no allocation.
func TestCountingAnAuthenticationDoesNotAllocate(t *testing.T) {
	m := NewMetrics()
	var nilMetrics *Metrics
	for _, count := range []func(){
		func() { m.AuthVerdict(projections.Valid) },
		func() { m.AuthVerdict(projections.Invalidated) },
		m.AuthMalformed,
		func() { nilMetrics.AuthVerdict(projections.Valid) },
	} {
		if n := testing.AllocsPerRun(1000, count); n != 0 {
			t.Fatalf("%v allocations per count", n)
		}
	}
}
