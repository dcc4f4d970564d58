package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// snapshotName is the object the projections' snapshot is stored under.
const snapshotName = "projections"

// Defaults of Config.SnapshotEvery and Config.SnapshotInterval.
const (
	DefaultSnapshotEvery    = 100_000
	DefaultSnapshotInterval = 10 * time.Minute
)

// snapshots is the app's checkpointing state.
type snapshots struct {
	mu      sync.Mutex    // one save at a time
	saved   atomic.Uint64 // sequence of the last snapshot saved or loaded
	resumed uint64        // sequence the projections were restored at on start
	local   bool          // they were restored from the local copy (preload)
	running bool          // the periodic saver runs: Close saves a last one
}

func (a *App) snapshotsOff() bool { return a.Config.SnapshotInterval < 0 }

// ResumedFrom is the sequence of the snapshot the projections started
// from, 0 if they folded the whole log.
func (a *App) ResumedFrom() uint64 { return a.snap.resumed }

// loadSnapshot restores the projections from the latest usable snapshot
// and folds the log up to its sequence into those it does not cover, so
// that the runner starts after it. A snapshot it cannot use (corrupt, of
// another projection version, of another log) is logged and ignored: the
// log is replayed, which is slower but never wrong.
func (a *App) loadSnapshot(ctx context.Context) error {
	if a.snapshotsOff() {
		return nil
	}
	log := a.Config.Logger
	start := time.Now()
	// Reading a snapshot and restoring it allocates the whole state at once
	// and frees next to nothing: collecting meanwhile (a million keys:
	// several cycles over a growing heap, then one of 200+ ms over all of
	// it) is work for nothing on the way to serving. The collector stays
	// off until the server serves or a long catch-up starts
	// (resumeCollector); without a usable snapshot, or with projections to
	// fold from the log, it is back on before loadSnapshot returns.
	if a.collectorHold == nil {
		a.collectorHold = pausingCollector()
	}
	restored := false
	defer func() {
		if !restored {
			a.resumeCollector()
		}
	}()
	s, behind, read, local := a.preloaded(ctx)
	if s == nil {
		var why string
		if s, why = a.readSnapshot(ctx); why != "" {
			log.Warn("snapshot ignored, replaying the log", "reason", why)
			return nil
		}
		if s == nil {
			return nil
		}
		read = time.Since(start)
		var err error
		if behind, err = a.Runner.Resume(*s); err != nil {
			log.Warn("snapshot ignored, replaying the log", "reason", err.Error())
			a.rebuild() // the failed restore may have half-filled them
			return nil
		}
	}
	if err := a.outgrownQuarantine(ctx); err != nil {
		log.Warn("snapshot ignored, replaying the log", "reason", err.Error())
		a.rebuild()
		return nil
	}
	restored = true
	if len(behind) > 0 {
		// Folding the log up to the snapshot makes garbage: not paused.
		a.resumeCollector()
		err := a.Log.ReadRange(ctx, eventlog.Range{To: s.Seq}, func(ev domain.Event) error {
			a.Runner.ApplyTo(behind, ev)
			return nil
		})
		if err != nil {
			return err
		}
	}
	a.snap.saved.Store(s.Seq)
	a.snap.resumed, a.snap.local = s.Seq, local
	// From the local copy, read is the copy's whole restore, beside the
	// log's opening; took is what loading waited for after it.
	log.Info("projections restored from snapshot", "seq", s.Seq, "taken", s.Time.Format(time.RFC3339),
		"folded_from_log", len(behind), "local_copy", local, "read", read.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// preload is a restore from the local copy of the snapshot
// (eventlog.ReadLocalSnapshot), run while the log opens.
type preload struct {
	opts   eventlog.Options
	done   chan struct{}
	copy   eventlog.Snapshot
	s      *projections.SavedState
	behind []projections.Applier
	// touched says the projections were restored into, fully or not.
	touched bool
	why     string // why the copy is unusable, if it is
	took    time.Duration
}

// preloadSnapshot restores the projections from the local copy of the
// snapshot, if the log has one, on another goroutine: while the embedded
// nats-server starts, which takes most of a second at a million keys.
// Whether the copy is the snapshot stored, and of this log, is known only
// once the log is open: loadSnapshot checks (preloaded).
func (a *App) preloadSnapshot(o eventlog.Options) {
	if a.snapshotsOff() {
		return
	}
	a.collectorHold = pausingCollector() // as loadSnapshot's
	p := &preload{opts: o, done: make(chan struct{})}
	a.preload = p
	go func() {
		defer close(p.done)
		start := time.Now()
		defer func() { p.took = time.Since(start) }()
		// Only checked snapshots are copied, and the copy read back whole:
		// its SHA-256 is not computed again.
		c, err := eventlog.ReadLocalSnapshot(o, snapshotName)
		if err != nil || c.Bytes == nil {
			if err != nil {
				p.why = err.Error()
			}
			return
		}
		defer c.Release()
		s, err := projections.DecodeCheckedState(c.Bytes)
		if err != nil {
			p.why = err.Error()
			return
		}
		p.touched = true
		behind, err := a.Runner.Resume(s)
		if err != nil {
			p.why = err.Error()
			return
		}
		p.copy, p.s, p.behind = c, &s, behind
	}()
}

// waitPreload waits for the preload, if one runs.
func (a *App) waitPreload() *preload {
	if a.preload != nil {
		<-a.preload.done
	}
	return a.preload
}

// preloaded is the snapshot the projections were restored from while the
// log opened, if that is the snapshot stored and it is of this log; else
// nil, the projections fresh again if they were restored into. The
// preload is spent: a later call finds none.
func (a *App) preloaded(ctx context.Context) (s *projections.SavedState, behind []projections.Applier, took time.Duration, ok bool) {
	p := a.waitPreload()
	if p == nil {
		return nil, nil, 0, false
	}
	a.preload = nil
	why := p.why
	if p.s != nil {
		current, err := a.Log.Current(ctx, p.copy)
		switch {
		case err != nil:
			why = err.Error()
		case !current:
			why = "another snapshot was stored since"
		default:
			why = a.fromThisLog(ctx, p.s)
		}
		if why == "" {
			return p.s, p.behind, p.took, true
		}
	}
	if why != "" {
		a.Config.Logger.Info("local copy of the snapshot not used, reading the stored one", "reason", why)
		eventlog.DropLocalSnapshot(p.opts, snapshotName) // the read copies the store's
	}
	if p.touched {
		a.rebuild()
	}
	return nil, nil, 0, false
}

// outgrownQuarantine is an error when the snapshot quarantined an event
// that this binary decodes: one of a newer version, say, that an older
// replica could not read. The projections then lack an event they can
// fold: the log is replayed instead, rather than refusing its key forever.
func (a *App) outgrownQuarantine(ctx context.Context) error {
	for _, p := range a.Runner.Quarantine().Events() {
		if !p.Undecoded() {
			continue
		}
		ev, err := a.Log.Event(ctx, p.Seq)
		if err != nil {
			return err
		}
		if _, err := ev.Decode(); err == nil && !eventlog.IsUndecodable(ev) {
			return fmt.Errorf("it quarantined the event at sequence %d, which this keyplane reads", p.Seq)
		}
	}
	return nil
}

// rebuild wires fresh projections, and the API (its probes and metrics)
// on them.
func (a *App) rebuild() { a.build() }

// resumeCollector ends the collector's pause for loading a snapshot, if
// one is under way (loadSnapshot).
func (a *App) resumeCollector() {
	if a.collectorHold != nil {
		a.collectorHold()
	}
}

// readSnapshot fetches and checks the latest snapshot: nil without one,
// and a reason when it exists but cannot be used.
func (a *App) readSnapshot(ctx context.Context) (*projections.SavedState, string) {
	var sum projections.SnapshotHasher // checks it as it is read
	b, err := a.Log.ReadSnapshot(ctx, snapshotName, &sum)
	if err != nil {
		return nil, err.Error()
	}
	if b.Bytes == nil {
		return nil, ""
	}
	s, err := projections.DecodeHashedState(b.Bytes, &sum)
	if err != nil {
		return nil, err.Error()
	}
	if why := a.fromThisLog(ctx, &s); why != "" {
		return nil, why
	}
	// Checked, and of this log: copied (if it is not yet) for the next
	// start to read while the log opens.
	a.Log.KeepLocal(b)
	return &s, ""
}

// fromThisLog is why s is not a snapshot of this log, "" when it is.
func (a *App) fromThisLog(ctx context.Context, s *projections.SavedState) string {
	ev, err := a.Log.Event(ctx, s.Seq)
	if err != nil || ev.ID != s.EventID {
		return "it was taken from another log (its last event is not in this one)"
	}
	return ""
}

// saveSnapshot checkpoints the projections and stores the snapshot, unless
// nothing was applied since the last one.
func (a *App) saveSnapshot(ctx context.Context) error {
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	if a.Runner.Applied() == a.snap.saved.Load() {
		return nil
	}
	start := time.Now()
	s, paused, err := a.Runner.Checkpoint()
	if err != nil {
		return err
	}
	ev, err := a.Log.Event(ctx, s.Seq)
	if err != nil {
		return err
	}
	s.EventID, s.Time = ev.ID, a.Config.Now()
	b := s.Encode()
	if err := a.Log.SaveSnapshot(ctx, snapshotName, b); err != nil {
		return err
	}
	a.snap.saved.Store(s.Seq)
	a.Config.Logger.Info("snapshot saved", "seq", s.Seq, "bytes", len(b), "paused", paused.Round(time.Millisecond),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// startSnapshots saves a snapshot whenever SnapshotEvery events were
// applied or SnapshotInterval passed with something new, until ctx ends.
func (a *App) startSnapshots(ctx context.Context) {
	if a.snapshotsOff() {
		return
	}
	every, interval := a.Config.SnapshotEvery, a.Config.SnapshotInterval
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	if interval == 0 {
		interval = DefaultSnapshotInterval
	}
	a.snap.running = true
	a.wg.Go(func() {
		poll := time.NewTicker(min(interval, time.Second))
		defer poll.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-poll.C:
			}
			due := a.Runner.Applied()-a.snap.saved.Load() >= every || time.Since(last) >= interval
			if !due {
				continue
			}
			last = time.Now()
			if err := a.saveSnapshot(ctx); err != nil && ctx.Err() == nil {
				a.Config.Logger.Warn("snapshot not saved", "err", err)
			}
		}
	})
}

// finalSnapshot saves one last snapshot on a graceful stop, so that the
// next start folds nothing.
func (a *App) finalSnapshot() {
	if !a.snap.running {
		return
	}
	// With the log unreachable the save could only wait for its timeout,
	// and a stop that hangs for minutes gets killed by whatever stopped it.
	// The next start replays from the last saved snapshot instead.
	hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := a.Log.Health(hctx)
	hcancel()
	if err != nil {
		a.Config.Logger.Warn("snapshot not saved on shutdown: the log is unavailable", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.saveSnapshot(ctx); err != nil && !errors.Is(err, context.Canceled) {
		a.Config.Logger.Warn("snapshot not saved on shutdown", "err", err)
	}
}
