package authn

import (
	"context"
	"testing"
	"time"
)

// BenchmarkThrottleSuccess measures what the throttle adds to a right
// password with no failures standing (the common Basic request): three
// reads, no write. The in-process store of an Authenticator without a log is the
// baseline; the shared bucket of an embedded JetStream is what runs.
func BenchmarkThrottleSuccess(b *testing.B) {
	stores := []struct {
		name string
		c    Counters
	}{{"memory", newMemCounters()}, {"jetstream", jetstreamCounters(b)}}
	ctx := context.Background()
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			th := newTestThrottle(s.c)
			who, now := MemberSubject("alice"), time.Now()
			for b.Loop() {
				a, err := th.begin(ctx, who, "10.0.0.1", now)
				if err != nil {
					b.Fatal(err)
				}
				a.succeeded(ctx)
			}
		})
	}
}
