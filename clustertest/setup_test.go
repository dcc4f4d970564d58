package clustertest

import (
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/internal/testproc"
)

// setup is a three-node NATS cluster and keyplane replicas on it.
type setup struct {
	nats     *testproc.Cluster
	replicas []*testproc.Replica
}

// startSetup starts the cluster (every server fsyncing before it
// acknowledges) and n replicas with an R3 stream.
func startSetup(t testing.TB, n int) *setup {
	t.Helper()
	return startSetupFlags(t, make([][]string, n)...)
}

// startSetupFlags is startSetup with a replica per flags, started with them.
func startSetupFlags(t testing.TB, flags ...[]string) *setup {
	t.Helper()
	if testing.Short() {
		t.Skip("starts three nats-servers and keyplane replicas")
	}
	s := &setup{nats: testproc.StartCluster(t, testproc.ClusterOptions{SyncAlways: true})}
	for i, f := range flags {
		s.replicas = append(s.replicas, s.startReplica(t, fmt.Sprintf("keyplane-%c", 'a'+i), f...))
	}
	return s
}

// startReplica starts one more keyplane replica on the cluster.
func (s *setup) startReplica(t testing.TB, name string, flags ...string) *testproc.Replica {
	t.Helper()
	args := append([]string{"--nats-url", s.nats.ClientURLs(), "--replicas", "3", "--data-dir", t.TempDir()}, flags...)
	return testproc.StartReplica(t, name, args...)
}

// urls are the replicas' base URLs.
func (s *setup) urls() []string {
	var out []string
	for _, r := range s.replicas {
		out = append(out, r.URL())
	}
	return out
}
