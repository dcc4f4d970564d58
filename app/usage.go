package app

import (
	"context"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// DefaultUsageFlush is keyplane serve's --usage-flush: how often a replica
// writes down the key uses it noted.
const DefaultUsageFlush = time.Minute

// usageWriters is how many usage records a flush has in flight at once:
// enough for the log's group commit to gather them into batches.
const usageWriters = 128

// recordTimeout bounds the writing of one usage record.
const recordTimeout = 15 * time.Second

// usageTracking builds the replica's usage notes and has the auth index
// note every successful key verification in them (Config.UsageFlush < 0
// turns it off).
func (a *App) usageTracking() {
	a.Usage = projections.NewUsage(a.Auth.Table())
	if a.Config.UsageFlush >= 0 {
		a.Auth.NoteUsage(a.Usage)
	}
}

// startUsageFlusher writes the noted uses down every --usage-flush, in
// the background: authentication never waits for the log.
func (a *App) startUsageFlusher(ctx context.Context) {
	every := a.Config.UsageFlush
	if every < 0 {
		return
	}
	if every == 0 {
		every = DefaultUsageFlush
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.flushUsage(ctx)
			}
		}
	}()
}

// FlushUsage writes down now what the replica noted of key use, as the
// background flush does, and returns how many records it appended (the
// others were in the log already, from this replica or another; one that
// two replicas appended at once counts on both: the log holds it once).
func (a *App) FlushUsage(ctx context.Context) (int, error) {
	a.usageMu.Lock()
	defer a.usageMu.Unlock()
	return a.flushUsageLocked(ctx)
}

func (a *App) flushUsage(ctx context.Context) {
	if n, err := a.FlushUsage(ctx); err != nil {
		a.Config.Logger.Warn("usage: some uses not written yet, retried at the next flush", "written", n, "err", err)
	}
}

// flushUsageLocked records each pending use (commands.Keys.RecordUse),
// usageWriters at a time; a use the log could not take stays pending.
func (a *App) flushUsageLocked(ctx context.Context) (int, error) {
	uses := a.Usage.Pending()
	var (
		wrote   int
		mu      sync.Mutex
		done    []projections.Use
		lastErr error
		wg      sync.WaitGroup
	)
	work := make(chan projections.Use)
	for range min(usageWriters, len(uses)) {
		wg.Go(func() {
			for u := range work {
				ok, err := a.recordUse(ctx, u)
				mu.Lock()
				if err != nil {
					lastErr = err
				} else {
					done = append(done, u)
				}
				if ok {
					wrote++
				}
				mu.Unlock()
			}
		})
	}
	for _, u := range uses {
		work <- u
	}
	close(work)
	wg.Wait()
	for _, u := range done {
		a.Usage.Written(u)
	}
	return wrote, lastErr
}

// recordUse writes one use down; a key gone meanwhile (quarantined, or of
// no tenant here) needs no record and is done.
func (a *App) recordUse(ctx context.Context, u projections.Use) (bool, error) {
	k, ok := a.Keys.ByID(u.Key)
	if !ok || k.Type == domain.KeyCrossCluster {
		// A cross-cluster key's verification is noted (the auth index
		// verifies before authn refuses its type) but authenticated
		// nothing: recorded, it would look in use to a cleanup.
		return false, nil
	}
	// Bounded like a request's command: a flush of many keys is not.
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	wrote, err := a.Commands.RecordUse(ctx, k.Tenant, u.Key, u.At)
	if domain.IsKind(err, domain.KindNotFound) {
		return false, nil
	}
	return wrote, err
}
