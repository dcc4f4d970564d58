package app

import (
	"runtime/debug"
	"sync"
)

// The garbage collector's setting is the process's, and more than one
// thing here changes it for a while (several apps may run in one process,
// as in the tests): bulk folds relax it, a snapshot's restore turns it off,
// an offline replay turns it off up to a memory limit. collector counts the
// holds of each kind; the first one saves the settings and the last one to
// end puts them back, whatever the order they end in.
var collector struct {
	sync.Mutex
	pauses, replays, folds int
	base                   int   // the GC percent before the first hold
	baseLimit              int64 // the memory limit before the first hold
	replayLimit            int64 // the limit replays run under; 0: unknown
}

// foldingInBulk relaxes the collector for a bulk fold (bulkGCPercent),
// unless it already collects less often or not at all; call what it
// returns when done.
func foldingInBulk() (done func()) { return holdCollector(&collector.folds) }

// pausingCollector turns the collector off until what it returns is
// called: for a stretch that allocates what it keeps and frees next to
// nothing, where collecting is work for nothing.
func pausingCollector() (done func()) { return holdCollector(&collector.pauses) }

// replayingOffline turns the collector off for a rebuild in a process that
// does nothing else (keyplane replay), up to a memory limit of half the
// memory the process may have (machine or cgroup; GOMEMLIMIT when lower):
// past it the runtime collects as it must. A rebuild keeps most of what it
// allocates and the rest is garbage at once, so every collection before the
// end marks a growing heap to free little: at bulkGCPercent that was still
// a quarter of a replay's CPU. Where the memory cannot be learnt, a replay
// is a bulk fold.
//
// With the collector off, each page a replay allocates is one the kernel
// hands over fresh (a fault of 2-4 µs on a VM). Collecting whenever the
// heap grew 128 or 256 MB past the live one, so that garbage is reused,
// cut the faults from about 0.6 to 0.2-0.35 an event but cost more than
// it saved: 12-13 µs of CPU an event against 9.4-10.4 (BenchmarkReplay),
// as each collection marks the growing projections and sweeps the heap.
func replayingOffline() (done func()) {
	limit := processMemory() / 2
	collector.Lock()
	collector.replayLimit = limit
	collector.Unlock()
	return holdCollector(&collector.replays)
}

func holdCollector(count *int) func() {
	collector.Lock()
	defer collector.Unlock()
	if collector.pauses+collector.replays+collector.folds == 0 {
		collector.base = debug.SetGCPercent(100) // read it; setCollector sets it
		collector.baseLimit = debug.SetMemoryLimit(-1)
	}
	*count++
	setCollector()
	var once sync.Once
	return func() {
		once.Do(func() {
			collector.Lock()
			defer collector.Unlock()
			*count--
			setCollector()
		})
	}
}

// setCollector applies the holds under way. collector is locked.
func setCollector() {
	base, limited := collector.base, collector.replays > 0 && collector.replayLimit > 0
	switch {
	case collector.pauses > 0 || limited:
		debug.SetGCPercent(-1)
	case collector.folds+collector.replays > 0 && base >= 0 && base < bulkGCPercent:
		debug.SetGCPercent(bulkGCPercent)
	default:
		debug.SetGCPercent(base)
	}
	if limited {
		debug.SetMemoryLimit(min(collector.baseLimit, collector.replayLimit))
	} else {
		debug.SetMemoryLimit(collector.baseLimit)
	}
}
