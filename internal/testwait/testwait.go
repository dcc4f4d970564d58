// Package testwait is the one deadline poll of keyplane's tests. A test
// waits for what another goroutine, process or replica will make true by
// polling it until a deadline, never by sleeping for a guessed time: the
// wait ends as soon as the condition holds, and a condition that never
// holds fails with what was awaited.
package testwait

import (
	"testing"
	"time"
)

// interval is how often a condition is tried again: short against the
// deadlines tests use (seconds), long against the cost of a try (an HTTP
// request on loopback).
const interval = 10 * time.Millisecond

// Until tries cond until it holds and reports true, or, once timeout has
// passed, reports false: the caller then fails saying what it last saw.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}

// For is Until that fails the test naming what it waited for.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("not within %v: %s", timeout, what)
	}
}
