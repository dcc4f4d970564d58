package projections

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Applier is a projection: a fold of events.
type Applier interface {
	Apply(domain.Event) error
}

// Source is the log as the runner sees it.
type Source interface {
	Subscribe(ctx context.Context, from uint64, fn func(domain.Event) error) error
}

// Runner feeds every applier from one subscription, in log order.
type Runner struct {
	appliers []Applier
	// quarantine records the events no projection could fold (poison):
	// the one among appliers, so that snapshots carry it, else its own.
	quarantine *Quarantine
	applied    atomic.Uint64
	// fold is held while one event is folded, so that Pause (pause.go)
	// sees every projection between two events.
	fold sync.Mutex

	mu     sync.Mutex
	notify chan struct{} // closed and replaced when applied advances
	// waited says someone waits on notify: only then does an applied
	// event replace it (a replay folds millions with nobody waiting).
	waited bool
	err    error
}

// NewRunner returns a runner over the given projections. Events they
// cannot fold are quarantined in the *Quarantine among them, if any.
func NewRunner(appliers ...Applier) *Runner {
	r := &Runner{appliers: appliers, notify: make(chan struct{})}
	for _, a := range appliers {
		if q, ok := a.(*Quarantine); ok {
			r.quarantine = q
		}
	}
	if r.quarantine == nil {
		r.quarantine = NewQuarantine()
	}
	return r
}

// Quarantine is where the runner records the events it could not fold.
func (r *Runner) Quarantine() *Quarantine { return r.quarantine }

// reserver is a projection that can make room for n aggregates up front.
type reserver interface{ Reserve(n int) }

// Reserve tells the projections that can use it that about n aggregates
// are coming (an upper bound is fine): for a fold from the start of the
// log, where they would otherwise grow as they go.
func (r *Runner) Reserve(n int) {
	for _, a := range r.appliers {
		if rs, ok := a.(reserver); ok {
			rs.Reserve(n)
		}
	}
}

// Run subscribes from the sequence after the last applied one and applies
// events until ctx ends or the subscription fails for good.
func (r *Runner) Run(ctx context.Context, src Source) error {
	err := src.Subscribe(ctx, r.applied.Load()+1, r.Apply)
	if err != nil && ctx.Err() == nil {
		r.fail(err)
	}
	return err
}

// fail records why the projections stopped and wakes every waiter with it.
func (r *Runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
	close(r.notify)
	r.notify = make(chan struct{})
}

// Apply folds one event into every projection. Events at or below the last
// applied sequence are ignored (a resumed subscription may repeat some).
//
// An event that does not decode, or that a projection refuses, is
// quarantined (Quarantine) and the runner goes on: the replica fails
// closed for what the event concerns, and keeps folding the rest. A
// runner that stopped at it would stop every later revocation too; one
// that skipped it silently would answer wrongly forever. Apply so never
// fails; the error is there for Source.
func (r *Runner) Apply(ev domain.Event) error {
	r.fold.Lock()
	defer r.fold.Unlock()
	if ev.Seq != 0 && ev.Seq <= r.applied.Load() {
		return nil
	}
	r.applyTo(r.appliers, ev)
	r.advance(ev.Seq)
	return nil
}

// ApplyTo folds ev into ps only, quarantining as Apply does: how the
// projections a snapshot did not cover catch up with it (Resume).
func (r *Runner) ApplyTo(ps []Applier, ev domain.Event) {
	r.fold.Lock()
	defer r.fold.Unlock()
	r.applyTo(ps, ev)
}

// applyTo folds ev into ps, decoded once for all of them; r.fold is held.
// An event that does not decode is quarantined, and still handed to the
// projections that look only at its envelope (those that decode it refuse
// it).
func (r *Runner) applyTo(ps []Applier, ev domain.Event) {
	if d, err := ev.Decoded(); err == nil {
		ev = d
	} else {
		r.poison(ev, nil)
	}
	for _, a := range ps {
		if err := a.Apply(ev); err != nil {
			r.poison(ev, a)
		}
	}
}

// poison quarantines ev, which does not decode (by nil) or which a refused.
func (r *Runner) poison(ev domain.Event, by Applier) {
	p := Poisoned{Seq: ev.Seq, Subject: eventlog.Subject(ev)}
	switch {
	case by != nil:
		p.Cause = causeRefused + fmt.Sprintf("%T", by)
	case eventlog.IsUndecodable(ev):
		p.Cause = causeUndecodable
	default:
		p.Cause = causeUnknown + fmt.Sprintf(" (%s v%d)", ev.Type, ev.Version)
	}
	r.quarantine.add(p, ev)
}

// BatchApplier is a projection that folds a run of events under one hold
// of its lock. A bulk fold (a replay) folds millions of events, and a lock
// and an unlock per event for each projection were a twentieth of it.
type BatchApplier interface {
	Applier
	// ApplyAll folds evs in order, as Apply would one by one, and returns
	// how many it folded: all of them, or those before the one that failed.
	ApplyAll(evs []domain.Event) (int, error)
}

// ApplyAll folds a run of consecutive events, as Apply would one by one,
// but projection by projection: each folds the whole run, under one hold
// of its lock, before the next starts. A reader may so see one projection
// ahead of another by part of the run, as it may by one event between the
// projections of Apply. Events are quarantined as Apply's are, and it
// never fails either. evs is decoded in place (domain.Event.Decoded), once
// for every projection.
func (r *Runner) ApplyAll(evs []domain.Event) error {
	r.fold.Lock()
	defer r.fold.Unlock()
	applied := r.applied.Load()
	for len(evs) > 0 && evs[0].Seq != 0 && evs[0].Seq <= applied {
		evs = evs[1:]
	}
	if len(evs) == 0 {
		return nil
	}
	for i, ev := range evs {
		if d, err := ev.Decoded(); err == nil {
			evs[i] = d
		} else {
			r.poison(ev, nil)
		}
	}
	for _, a := range r.appliers {
		r.applyAll(a, evs)
	}
	r.advance(evs[len(evs)-1].Seq)
	return nil
}

// applyAll folds evs into a, in one call when a can take them so, and
// quarantines each event a refuses and folds on past it.
func (r *Runner) applyAll(a Applier, evs []domain.Event) {
	for len(evs) > 0 {
		n, err := applyRun(a, evs)
		if err == nil {
			return
		}
		r.poison(evs[n], a)
		evs = evs[n+1:]
	}
}

// applyRun folds evs into a until one fails, and says how many it folded.
func applyRun(a Applier, evs []domain.Event) (int, error) {
	if b, ok := a.(BatchApplier); ok {
		return b.ApplyAll(evs)
	}
	return applyEach(evs, a.Apply)
}

// applyEach is how a BatchApplier folds a run, its lock held, with apply
// folding one event.
func applyEach(evs []domain.Event, apply func(domain.Event) error) (int, error) {
	for i, ev := range evs {
		if err := apply(ev); err != nil {
			return i, err
		}
	}
	return len(evs), nil
}

// advance records seq as applied and wakes whoever waits for it.
func (r *Runner) advance(seq uint64) {
	r.applied.Store(seq)
	r.mu.Lock()
	if r.waited {
		close(r.notify)
		r.notify, r.waited = make(chan struct{}), false
	}
	r.mu.Unlock()
}

// Applied is the last sequence every projection has applied.
func (r *Runner) Applied() uint64 { return r.applied.Load() }

// SetApplied starts the runner after a snapshot covering up to seq.
func (r *Runner) SetApplied(seq uint64) { r.applied.Store(seq) }

// WaitFor blocks until the projections have applied seq.
func (r *Runner) WaitFor(ctx context.Context, seq uint64) error {
	for {
		if r.applied.Load() >= seq {
			return nil
		}
		r.mu.Lock()
		ch, err := r.notify, r.err
		r.waited = true
		r.mu.Unlock()
		if err != nil {
			return &domain.Error{Kind: domain.KindUnavailable, Reason: "projections stopped", Err: err}
		}
		if r.applied.Load() >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &domain.Error{Kind: domain.KindUnavailable, Reason: "timed out waiting for projections", Err: ctx.Err()}
		}
	}
}
