// Package testproc runs keyplane's real processes for tests and
// benchmarks: nats-server nodes clustered on loopback ports and keyplane
// replicas, each a separate OS process that a test can stop, kill with
// SIGKILL and start again. Binaries are built once per test process from
// this module (nats-server from the version go.mod pins).
//
// Nothing here is a fake: a killed node is a killed process, and what a
// test measures crossed real sockets.
package testproc
