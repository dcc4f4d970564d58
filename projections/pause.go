package projections

// Pause runs fn between two events, with the sequence every projection has
// applied: a consistent cut of all of them, for a snapshot or digests. The
// runner (and so every command waiting for its event) waits meanwhile, so
// fn must not block on the log.
func (r *Runner) Pause(fn func(applied uint64) error) error {
	r.fold.Lock()
	defer r.fold.Unlock()
	return fn(r.applied.Load())
}

// Appliers are the projections the runner feeds, in order.
func (r *Runner) Appliers() []Applier { return append([]Applier(nil), r.appliers...) }
