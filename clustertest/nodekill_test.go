package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
)

// TestCommandsSurviveANodeKill creates keys on both replicas while the
// nats-server leading the event stream is killed with SIGKILL. Commands
// continue once a new leader is elected; afterwards every acknowledged key
// is in the log exactly once: on both replicas and on a third replica
// started from the log alone.
func TestCommandsSurviveANodeKill(t *testing.T) {
	s := startSetup(t, 2)
	leader := streamLeader(t, s.replicas[0].URL())
	var victim *testproc.Node
	for _, n := range s.nats.Nodes {
		if n.Name == leader {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("stream leader %q is not a node of the cluster", leader)
	}

	b := &burst{urls: s.urls(), prefix: "nodekill", n: 600, workers: 16, kill: victim.Kill, killAt: 150}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	b.run(ctx)
	b.check(t)
	if after := b.ackedAfter(b.killedAt); after == 0 {
		t.Fatal("no command was acknowledged after the node was killed")
	}
	t.Logf("killed stream leader %s after 150 acks; %d creates in %v; longest stall after the kill %v; failed attempts by status %v",
		leader, b.n, time.Since(start).Round(time.Millisecond), b.longestStall(b.killedAt).Round(time.Millisecond), b.failures())

	for _, url := range s.urls() {
		checkAllOnce(t, url, "nodekill-*", b.acked)
	}
	// A replica that was not there reads everything from the log.
	fresh := s.startReplica(t, "keyplane-fresh")
	checkAllOnce(t, fresh.URL(), "nodekill-*", b.acked)
}
