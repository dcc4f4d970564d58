package app

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
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

// TestPausesAndBulkFoldsEndInAnyOrder: a snapshot's pause and bulk folds
// (several apps in one process) may overlap; the collector is off while any
// pause lasts, relaxed while only folds do, and back as it was after all,
// whichever ends first.
func TestPausesAndBulkFoldsEndInAnyOrder(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	debug.SetGCPercent(100)
	pause := pausingCollector()
	fold := foldingInBulk()
	if got := gcPercent(); got != -1 {
		t.Fatalf("%d with a pause and a fold, want -1 (off)", got)
	}
	pause()
	pause() // a second call is a no-op: it must not end another's hold
	if got := gcPercent(); got != bulkGCPercent {
		t.Fatalf("%d with only a fold left, want %d", got, bulkGCPercent)
	}
	again := pausingCollector()
	fold()
	if got := gcPercent(); got != -1 {
		t.Fatalf("%d with only a pause left, want -1", got)
	}
	again()
	if got := gcPercent(); got != 100 {
		t.Fatalf("%d after all, want 100 back", got)
	}
}

// TestStartLeavesTheCollectorAsItFoundIt: a start from a snapshot pauses
// the collector until it serves; once Start returned it is back on.
func TestStartLeavesTheCollectorAsItFoundIt(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	a.Close() // saves a snapshot
	a = startApp(t, dir, nil)
	defer a.Close()
	if a.ResumedFrom() == 0 {
		t.Fatal("the second start did not load the snapshot")
	}
	if got := gcPercent(); got != 100 {
		t.Fatalf("collector at %d after Start, want 100", got)
	}
}

// TestLoadingASnapshotPausesTheCollectorOnlyForTheRestore: a restore keeps
// the collector off (until serving), but a projection without a snapshot
// of its version is folded from the log, which makes garbage: then, and
// when there is no snapshot to load, the collector is on again when
// loadSnapshot returns.
func TestLoadingASnapshotPausesTheCollectorOnlyForTheRestore(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	history(t, a)
	a.Close() // saves a snapshot
	for _, tt := range []struct {
		name   string
		tamper func(s *projections.SavedState)
		want   int
	}{
		{"every projection in the snapshot", func(*projections.SavedState) {}, -1},
		{"one projection folded from the log", func(s *projections.SavedState) { delete(s.Parts, "keys@5") }, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			withLog(t, dir, func(ctx context.Context, l *eventlog.Log) {
				good, err := l.GetSnapshot(ctx, snapshotName)
				if err != nil || good == nil {
					t.Fatalf("no snapshot: %v", err)
				}
				s, err := projections.DecodeSavedState(good)
				if err != nil {
					t.Fatal(err)
				}
				tt.tamper(&s)
				if err := l.PutSnapshot(ctx, snapshotName, s.Encode()); err != nil {
					t.Fatal(err)
				}
				o := offline(Config{}, l)
				if err := o.loadSnapshot(ctx); err != nil {
					t.Fatal(err)
				}
				defer o.resumeCollector()
				if o.ResumedFrom() == 0 {
					t.Fatal("the snapshot was not used")
				}
				if got := gcPercent(); got != tt.want {
					t.Fatalf("collector at %d after loadSnapshot, want %d", got, tt.want)
				}
			})
		})
	}
}
