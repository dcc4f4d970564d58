package projections

import (
	"fmt"
	"sync"
	"time"
)

// Capturer is a Snapshotter that can snapshot in two steps: Capture, called
// between two events, takes an immutable view of its state quickly; the
// function it returns encodes that view (the same bytes as Snapshot) while
// the runner goes on.
type Capturer interface {
	Capture() func() ([]byte, error)
}

// Checkpoint snapshots every Snapshotter the runner feeds at one sequence.
// The runner, and every command waiting on it, waits while Capturers take
// their views and the other Snapshotters encode, in parallel (how long is
// paused); the Capturers' encoding runs after.
func (r *Runner) Checkpoint() (s SavedState, paused time.Duration, err error) {
	var mu sync.Mutex
	var later []func() error
	keep := func(p Snapshotter, b []byte, err error) error {
		if err != nil {
			return fmt.Errorf("snapshot of %s: %w", p.Name(), err)
		}
		mu.Lock()
		s.Parts[p.Name()] = b
		mu.Unlock()
		return nil
	}
	err = r.Pause(func(applied uint64) error {
		start := time.Now()
		defer func() { paused = time.Since(start) }()
		s = SavedState{Seq: applied, Parts: map[string][]byte{}}
		return r.eachSnapshotter(func(p Snapshotter) error {
			if c, ok := p.(Capturer); ok {
				encode := c.Capture()
				mu.Lock()
				later = append(later, func() error { b, err := encode(); return keep(p, b, err) })
				mu.Unlock()
				return nil
			}
			b, err := p.Snapshot()
			return keep(p, b, err)
		})
	})
	if err != nil {
		return s, paused, err
	}
	return s, paused, parallel(later)
}

// Upgrader is a Snapshotter whose encoding changed since a release: it
// also restores the parts its older versions wrote, so that a released
// snapshot still restores rather than being ignored and the log folded.
type Upgrader interface {
	// Older are the names of the older versions it reads, newest first.
	Older() []string
	// RestoreOlder is Restore for a part of the older version name.
	RestoreOlder(name string, b []byte) error
}

// partOf is p's part in s: of its version, else of the newest older one
// it reads (Upgrader).
func partOf(s SavedState, p Snapshotter) (name string, b []byte, ok bool) {
	if b, ok := s.Parts[p.Name()]; ok {
		return p.Name(), b, true
	}
	if u, isU := p.(Upgrader); isU {
		for _, name := range u.Older() {
			if b, ok := s.Parts[name]; ok {
				return name, b, true
			}
		}
	}
	return "", nil, false
}

// Resume restores the projections from s, in parallel, and sets the runner
// to start after s.Seq. Projections s has no part for (not Snapshotters, or
// a new version of one) are returned: the caller folds the log up to s.Seq
// into them before running. After an error the projections are in no
// particular state: start again from fresh ones.
func (r *Runner) Resume(s SavedState) (behind []Applier, err error) {
	// The projections that place keys in the shared key table in another
	// order than by id (lateKeyPlacer) decode at once but place their keys
	// only once those that list every key by id (the auth index) have
	// placed them: see slotGuess.
	var listers sync.WaitGroup
	for _, a := range r.appliers {
		p, ok := a.(Snapshotter)
		if ok {
			_, _, ok = partOf(s, p)
		}
		if !ok {
			behind = append(behind, a)
		} else if _, lists := a.(keyLister); lists {
			listers.Add(1)
		}
	}
	err = r.eachSnapshotter(func(p Snapshotter) error {
		name, b, ok := partOf(s, p)
		if !ok {
			return nil
		}
		if _, ok := p.(keyLister); ok {
			defer listers.Done()
		}
		restore := p.Restore
		late, isLate := p.(lateKeyPlacer)
		switch {
		case name != p.Name() && isLate:
			restore = func(b []byte) error { listers.Wait(); return p.(Upgrader).RestoreOlder(name, b) }
		case name != p.Name():
			restore = func(b []byte) error { return p.(Upgrader).RestoreOlder(name, b) }
		case isLate:
			restore = func(b []byte) error { return late.restoreLate(b, listers.Wait) }
		}
		if err := restore(b); err != nil {
			return fmt.Errorf("restore of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.SetApplied(s.Seq)
	return behind, nil
}

// keyLister is a Snapshotter whose snapshot lists every key of the key
// table in id order: the auth index.
type keyLister interface{ listsEveryKey() }

// lateKeyPlacer is a Snapshotter whose snapshot names keys in another
// order than by id (the audit trail by first mention, the key index by
// project and creation): it places its keys in the table after the
// keyListers, finding them there rather than numbering them in its order,
// which would leave the restores that read keys by id none to guess.
// restoreLate is its Restore, which decodes the snapshot at once, beside
// the listers' restores, and calls placed, which returns once they are
// done, before it touches the table: its decoding is off the start's
// critical path (at a million keys, the key index's is 0.8 s of CPU).
type lateKeyPlacer interface {
	restoreLate(b []byte, placed func()) error
}

func (a *AuthIndex) listsEveryKey() {}

// eachSnapshotter runs fn on every Snapshotter at once and returns the
// first error.
func (r *Runner) eachSnapshotter(fn func(Snapshotter) error) error {
	var fns []func() error
	for _, a := range r.appliers {
		if p, ok := a.(Snapshotter); ok {
			fns = append(fns, func() error { return fn(p) })
		}
	}
	return parallel(fns)
}

// parallel runs every function at once and returns the first error. It
// must not run them on a bounded pool: a late key placer waits inside its
// function for the listers', which would never start if it held their
// place.
func parallel(fns []func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		wg.Go(func() {
			if err := fn(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
