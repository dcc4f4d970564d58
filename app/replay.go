package app

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// offline wires fresh projections exactly as Start does, over an open log,
// without starting anything: what `keyplane replay` folds into.
func offline(cfg Config, log *eventlog.Log) *App {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &App{Config: cfg, Log: log, runErr: make(chan error, 1)}
	a.build()
	return a
}

// Rebuild folds every projection, wired as Start wires them, from the first
// event of the log up to sequence to (0: the last one), and returns their
// runner. progress, when set, is called with the last sequence of each run
// of events applied. It is meant for a process that does little else
// meanwhile (keyplane replay): the collector is off up to a memory limit
// while it runs (replayingOffline).
func Rebuild(ctx context.Context, cfg Config, log *eventlog.Log, to uint64, progress func(seq uint64)) (*projections.Runner, error) {
	a := offline(cfg, log)
	defer replayingOffline()()
	reserve(ctx, log, a.Runner)
	err := log.ReadBatches(ctx, eventlog.Range{To: to}, func(evs []domain.Event) error {
		if err := a.Runner.ApplyAll(evs); err != nil {
			return err
		}
		if progress != nil {
			progress(evs[len(evs)-1].Seq)
		}
		return nil
	})
	return a.Runner, err
}

// Restarted is what a server restarted now would hold: the projections
// restored from the latest snapshot, then folded up to sequence to. from is
// the snapshot's sequence, 0 when there is no usable one (the projections
// then folded the whole log, and comparing them with a rebuild proves
// nothing).
func Restarted(ctx context.Context, cfg Config, log *eventlog.Log, to uint64) (r *projections.Runner, from uint64, err error) {
	a := offline(cfg, log)
	err = a.loadSnapshot(ctx)
	a.resumeCollector()
	if err != nil {
		return nil, 0, err
	}
	from = a.ResumedFrom()
	if to != 0 && from > to {
		return nil, from, domain.Invalid("the snapshot (sequence %d) is past sequence %d", from, to)
	}
	defer replayingOffline()()
	err = log.ReadBatches(ctx, eventlog.Range{From: from + 1, To: to}, a.Runner.ApplyAll)
	return a.Runner, from, err
}

// reserve sizes the projections for a fold from the first event, from
// the log's count of subjects. Without the count they grow as they go:
// slower, not wrong.
func reserve(ctx context.Context, log *eventlog.Log, r *projections.Runner) {
	if n, err := log.Aggregates(ctx); err == nil {
		r.Reserve(n)
	}
}

// bulkGCPercent is the collector's target (GOGC) while a long stretch of
// the log is folded in one go. Such a fold allocates mostly what it keeps
// (the projections grow by every key) plus short-lived events, so each
// collection marks a large, growing live heap to free little: at the
// default 100 that was a fifth of a replay's CPU. 300 collects a quarter as
// often, for a heap that may reach four times the live one meanwhile
// (GOMEMLIMIT, when set, still bounds it).
const bulkGCPercent = 300

// bulkFoldMin is how far behind the log the projections must start for
// their catch-up to count as a bulk fold.
const bulkFoldMin = 10_000
