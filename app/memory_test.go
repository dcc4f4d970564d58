package app

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestParseMemTotal(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"MemTotal:       24684132 kB\nMemFree:        20000000 kB\n", 24684132 * 1024, true},
		{"MemFree:        20000000 kB\nMemTotal: 1024 kB\n", 1 << 20, true},
		{"MemFree:        20000000 kB\n", 0, false},
		{"MemTotal: lots kB\n", 0, false},
		{"", 0, false},
	} {
		got, ok := parseMemTotal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCgroupLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2147483648\n", 2 << 30, true},
		{"max\n", 0, false},
		{"9223372036854771712\n", 9223372036854771712, true}, // v1's "no limit"
		{"0\n", 0, false},
		{"", 0, false},
	} {
		got, ok := parseCgroupLimit(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCgroupLimit(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// memoryLimit reads the runtime's soft memory limit.
func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

// TestAnOfflineReplayCollectsOnlyNearItsMemoryLimit: while a replay runs
// the collector is off and the memory limit is half the process's memory
// (or the limit set before, when lower); a bulk fold ending meanwhile does
// not undo it, and after both everything is as it was.
func TestAnOfflineReplayCollectsOnlyNearItsMemoryLimit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	half := processMemory() / 2
	if half <= 0 {
		if runtime.GOOS == "linux" {
			t.Fatal("the process's memory could not be read on Linux")
		}
		t.Skip("memory not readable on " + runtime.GOOS)
	}
	for _, before := range []int64{math.MaxInt64, half / 2} {
		debug.SetMemoryLimit(before)
		fold := foldingInBulk()
		replay := replayingOffline()
		if got := gcPercent(); got != -1 {
			t.Errorf("limit %d before: collector at %d during a replay, want -1 (off)", before, got)
		}
		if got, want := memoryLimit(), min(before, half); got != want {
			t.Errorf("limit %d before: %d during a replay, want %d", before, got, want)
		}
		fold()
		if got := gcPercent(); got != -1 || memoryLimit() != min(before, half) {
			t.Errorf("limit %d before: a fold's end changed the replay's setting to %d, %d", before, got, memoryLimit())
		}
		replay()
		if got := gcPercent(); got != 100 || memoryLimit() != before {
			t.Errorf("after the replay: collector %d, limit %d; want 100, %d back", got, memoryLimit(), before)
		}
	}
}
