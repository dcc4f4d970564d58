package clustertest

import (
	"context"
	"testing"
	"time"
)

// TestCreatesSurviveAReplicaKill sends a burst of creates with
// Idempotency-Keys to two replicas and kills one with SIGKILL mid-burst;
// clients whose request failed retry against the other. Afterwards every
// key any client saw acknowledged exists exactly once and authenticates,
// and so after the killed replica comes back.
func TestCreatesSurviveAReplicaKill(t *testing.T) {
	s := startSetup(t, 2)
	victim := s.replicas[0]
	b := &burst{urls: s.urls(), prefix: "replicakill", n: 800, workers: 32, kill: victim.Kill, killAt: 200}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b.run(ctx)
	b.check(t)
	t.Logf("killed %s after 200 acks; all %d creates acknowledged, %d after the kill; %d attempts retried (by status, 0 = no answer: %v)",
		victim.Name, b.n, b.ackedAfter(b.killedAt), b.retries.Load(), b.failures())

	survivor := s.replicas[1].URL()
	checkAllOnce(t, survivor, "replicakill-*", b.acked)
	victim.Restart()
	checkAllOnce(t, victim.URL(), "replicakill-*", b.acked)
}
