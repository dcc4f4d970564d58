package app

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's setting (by setting it back at once).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestABulkFoldRelaxesTheCollectorOnlyWhileItLasts(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tt := range []struct {
		name       string
		before, in int
	}{
		{"default", 100, bulkGCPercent},
		{"tighter", 50, bulkGCPercent},
		{"already looser", 2 * bulkGCPercent, 2 * bulkGCPercent},
		{"collector off", -1, -1},
	} {
		debug.SetGCPercent(tt.before)
		outer := foldingInBulk()
		inner := foldingInBulk() // two folds at once: the first to end must not undo the other's
		if got := gcPercent(); got != tt.in {
			t.Errorf("%s: %d during the folds, want %d", tt.name, got, tt.in)
		}
		outer()
		if got := gcPercent(); got != tt.in {
			t.Errorf("%s: %d while one fold still runs, want %d", tt.name, got, tt.in)
		}
		inner()
		if got := gcPercent(); got != tt.before {
			t.Errorf("%s: %d after the folds, want %d back", tt.name, got, tt.before)
		}
	}
}
