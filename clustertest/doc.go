// Package clustertest runs keyplane as it runs past one machine: two or
// three keyplane replicas (real processes) on a three-node nats-server
// cluster (real processes, loopback ports), the stream and its KV
// replicated three times. Its tests kill nodes and replicas with SIGKILL
// mid-load and check what keyplane promises: every acknowledged command is
// in the log exactly once, a write on one replica is seen by the others (a
// revoked key refused), and authentication of known keys never depends on
// the log being reachable. Its benchmark compares the cluster with a
// single embedded node, measured in the same run.
//
// The tests are heavy for a small machine (five processes each), so they
// are few; -short skips them.
package clustertest
