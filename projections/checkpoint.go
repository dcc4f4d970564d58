package projections

import (
	"fmt"
	"sync"
)

// Checkpoint snapshots every Snapshotter the runner feeds at one sequence,
// between two events. The parts are encoded in parallel: the runner, and
// every command waiting on it, waits meanwhile.
func (r *Runner) Checkpoint() (SavedState, error) {
	var s SavedState
	err := r.Pause(func(applied uint64) error {
		s = SavedState{Seq: applied, Parts: map[string][]byte{}}
		var mu sync.Mutex
		return r.eachSnapshotter(func(p Snapshotter) error {
			b, err := p.Snapshot()
			if err != nil {
				return fmt.Errorf("snapshot of %s: %w", p.Name(), err)
			}
			mu.Lock()
			s.Parts[p.Name()] = b
			mu.Unlock()
			return nil
		})
	})
	return s, err
}

// Resume restores the projections from s, in parallel, and sets the runner
// to start after s.Seq. Projections s has no part for (not Snapshotters, or
// a new version of one) are returned: the caller folds the log up to s.Seq
// into them before running. After an error the projections are in no
// particular state: start again from fresh ones.
func (r *Runner) Resume(s SavedState) (behind []Applier, err error) {
	for _, a := range r.appliers {
		p, ok := a.(Snapshotter)
		if ok {
			_, ok = s.Parts[p.Name()]
		}
		if !ok {
			behind = append(behind, a)
		}
	}
	err = r.eachSnapshotter(func(p Snapshotter) error {
		b, ok := s.Parts[p.Name()]
		if !ok {
			return nil
		}
		if err := p.Restore(b); err != nil {
			return fmt.Errorf("restore of %s: %w", p.Name(), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.SetApplied(s.Seq)
	return behind, nil
}

// eachSnapshotter runs fn on every Snapshotter at once and returns the
// first error.
func (r *Runner) eachSnapshotter(fn func(Snapshotter) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(r.appliers))
	for _, a := range r.appliers {
		if p, ok := a.(Snapshotter); ok {
			wg.Go(func() {
				if err := fn(p); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	return <-errs
}
