package eventlog

import (
	"context"
	"time"
)

// setupDeadline bounds how long setting up JetStream assets (the stream,
// the config bucket) is retried. A cluster that just formed, or that is
// electing leaders, refuses or times out asset requests for seconds; a
// replica starting then should wait, not exit.
const setupDeadline = 60 * time.Second

// retrySetup runs f until it succeeds, ctx ends or setupDeadline passes,
// each attempt bounded by 10s.
func retrySetup(ctx context.Context, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(setupDeadline)
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}
