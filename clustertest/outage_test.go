package clustertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLogOutage takes the log away from two replicas in two steps: first
// two of the three nats-servers (the stream loses its quorum), then the
// last one. Throughout, replica A (--max-staleness 1s) refuses to
// authenticate once it cannot confirm its index for a second (503 with
// Retry-After, /readyz and /metrics say why), while B (--max-staleness 0)
// keeps authenticating known keys from its own auth index (never a false
// 401); on both commands answer 503 with Retry-After, readiness says not
// ready while liveness holds. When the cluster is back, A authenticates
// again, commands work again and a write on one replica reaches the other.
func TestLogOutage(t *testing.T) {
	s := startSetupFlags(t, []string{"--max-staleness", "1s"}, []string{"--max-staleness", "0"})
	a, b := s.replicas[0].URL(), s.replicas[1].URL()
	k, ans, err := create(t.Context(), a, "outage-known")
	if err != nil || ans.status != http.StatusCreated {
		t.Fatalf("create: %v %s", err, ans.raw)
	}
	waitStatus(t, b, "/api/v1/whoami", "ApiKey "+k.encoded, http.StatusOK, 10*time.Second)

	s.nats.Nodes[0].Kill()
	s.nats.Nodes[1].Kill()
	t.Run("quorum lost", func(t *testing.T) {
		checkFailsClosed(t, a, k)
		checkDegraded(t, []string{b}, k, "outage-quorum")
	})
	s.nats.Nodes[2].Kill()
	t.Run("every server down", func(t *testing.T) {
		checkFailsClosed(t, a, k)
		checkDegraded(t, []string{b}, k, "outage-down")
	})

	for _, n := range s.nats.Nodes {
		n.Start()
	}
	s.nats.WaitHealthy(t, 60*time.Second)
	for _, url := range []string{a, b} {
		waitStatus(t, url, "/readyz", "", http.StatusOK, 60*time.Second)
	}
	must(t, "GET", a+"/api/v1/whoami", "ApiKey "+k.encoded, nil, http.StatusOK)
	// The creates that were refused can be retried now, and a revocation
	// made on B reaches A: both replicas follow the log again.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, name := range []string{"outage-quorum", "outage-down"} {
		nb := &burst{urls: []string{b, a}, prefix: name, n: 1, workers: 1}
		nb.run(ctx)
		nb.check(t)
	}
	must(t, "DELETE", b+keysPath+"/"+k.id, ownerAuth, nil, http.StatusOK)
	waitStatus(t, a, "/api/v1/whoami", "ApiKey "+k.encoded, http.StatusUnauthorized, 10*time.Second)
}

// checkFailsClosed checks that the replica at url, unable to confirm its
// index, refuses a known key with 503 and Retry-After (not 401: the key
// may be fine) and says why on /readyz and /metrics.
func checkFailsClosed(t *testing.T, url string, k key) {
	waitStatus(t, url, "/api/v1/whoami", "ApiKey "+k.encoded, http.StatusServiceUnavailable, 10*time.Second)
	r := must(t, "GET", url+"/api/v1/whoami", "ApiKey "+k.encoded, nil, http.StatusServiceUnavailable)
	if r.retryAfter == "" || !strings.Contains(r.raw, "stale") {
		t.Errorf("refusal without Retry-After or reason: %v %s", r.header, r.raw)
	}
	must(t, "GET", url+"/healthz", "", nil, http.StatusOK)
	ready := must(t, "GET", url+"/readyz", "", nil, http.StatusServiceUnavailable)
	f, _ := ready.body["freshness"].(map[string]any)
	if f == nil || f["authenticating"] != false || f["reason"] == nil {
		t.Errorf("/readyz does not say it refuses to authenticate: %s", ready.raw)
	}
	m := must(t, "GET", url+"/metrics", "", nil, http.StatusOK)
	if !strings.Contains(m.raw, "keyplane_auth_fail_closed 1") {
		t.Errorf("/metrics does not say it fails closed")
	}
}

// checkDegraded checks every replica with the log unusable: k
// authenticates, a wrong secret is refused, a create answers 503 with
// Retry-After, /readyz 503 and /healthz 200.
func checkDegraded(t *testing.T, urls []string, k key, name string) {
	for _, url := range urls {
		must(t, "GET", url+"/api/v1/whoami", "ApiKey "+k.encoded, nil, http.StatusOK)
		must(t, "GET", url+keysPath+"/"+k.id, "ApiKey "+k.encoded, nil, http.StatusOK)
		must(t, "GET", url+"/api/v1/whoami", "ApiKey "+k.encoded+"x", nil, http.StatusUnauthorized)
		waitStatus(t, url, "/readyz", "", http.StatusServiceUnavailable, 10*time.Second)
		must(t, "GET", url+"/healthz", "", nil, http.StatusOK)
	}
	// Both replicas at once: with no quorum each waits out its append.
	done := make(chan string, len(urls))
	for _, url := range urls {
		go func() {
			start := time.Now()
			r, err := call(context.Background(), "POST", url+keysPath, ownerAuth, map[string]any{"name": name}, "Idempotency-Key", name)
			switch {
			case err != nil:
				done <- url + ": " + err.Error()
			case r.status != http.StatusServiceUnavailable || r.retryAfter == "":
				done <- url + ": create answered " + r.raw
			default:
				t.Logf("%s: create answered 503 in %v", url, time.Since(start).Round(time.Millisecond))
				done <- ""
			}
		}()
	}
	for range urls {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
