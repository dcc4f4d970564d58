package app

import (
	"runtime/debug"
	"sync"
)

// The garbage collector's setting is the process's, and more than one
// thing here changes it for a while (several apps may run in one process,
// as in the tests): bulk folds relax it, a snapshot's restore turns it off.
// collector counts the holds of each kind; the first one saves the setting
// and the last one to end puts it back, whatever the order they end in.
var collector struct {
	sync.Mutex
	pauses, folds int
	base          int // the setting before the first hold
}

// foldingInBulk relaxes the collector for a bulk fold (bulkGCPercent),
// unless it already collects less often or not at all; call what it
// returns when done.
func foldingInBulk() (done func()) { return holdCollector(&collector.folds) }

// pausingCollector turns the collector off until what it returns is
// called: for a stretch that allocates what it keeps and frees next to
// nothing, where collecting is work for nothing.
func pausingCollector() (done func()) { return holdCollector(&collector.pauses) }

func holdCollector(count *int) func() {
	collector.Lock()
	defer collector.Unlock()
	if collector.pauses+collector.folds == 0 {
		collector.base = debug.SetGCPercent(100) // read it; setCollector sets it
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
	base := collector.base
	switch {
	case collector.pauses > 0:
		debug.SetGCPercent(-1)
	case collector.folds > 0 && base >= 0 && base < bulkGCPercent:
		debug.SetGCPercent(bulkGCPercent)
	default:
		debug.SetGCPercent(base)
	}
}
