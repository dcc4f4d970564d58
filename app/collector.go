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
// hands over fresh (a fault of about 3 µs on a VM). Collecting so that
// garbage is reused costs as much as the faults it saves, as each
// collection marks the growing projections and sweeps the heap. In a new
// process, 200,000 events: collecting at each 128-512 MB of growth cut
// the faults from 1.1 to 0.4-0.75 an event and added as much user CPU
// (160-188k events/s against 161-172k, same session); GOGC 100-400, 0.45-
// 0.86 faults and 171-207k events/s against 197-202k off.
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
