package app

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metric reads one sample from /metrics, e.g.
// `keyplane_auth_total{verdict="valid"}`; -1 when absent.
func metric(t *testing.T, a *App, sample string) float64 {
	t.Helper()
	r := a.as(t, "").do("GET", "/metrics", nil).must(t, 200)
	sc := bufio.NewScanner(strings.NewReader(r.raw))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == sample {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return v
		}
	}
	return -1
}

func TestProbesOfAHealthyReplica(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	anon := a.as(t, "")
	if r := anon.do("GET", "/healthz", nil).must(t, 200); r.str("status") != "ok" {
		t.Fatalf("healthz: %s", r.raw)
	}
	r := anon.do("GET", "/readyz", nil).must(t, 200)
	if r.body["ready"] != true || r.body["connected"] != true || r.body["lag_sequences"].(float64) != 0 {
		t.Fatalf("readyz: %s", r.raw)
	}
	// The embedded server fsyncs before acknowledging: nothing to warn about.
	if r.body["warnings"] != nil {
		t.Fatalf("readyz warns about an embedded server that fsyncs always: %s", r.raw)
	}
	anon.do("POST", "/readyz", nil).must(t, 405)
}

func TestMetricsCountCommandsAndAuthentications(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	const base = "/api/v1/orgs/default/api-keys"
	id, enc := alice.createKey(base, map[string]any{"name": "metered"})
	alice.do("POST", base, map[string]any{"name": "bad", "expiration": "soon"}).must(t, 400)
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	a.as(t, "ApiKey not-base64!").do("GET", "/api/v1/whoami", nil).must(t, 401)
	alice.do("DELETE", base+"/"+id, nil).must(t, 200)
	a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 401)

	tests := []struct {
		sample string
		want   float64
	}{
		{`keyplane_commands_total{command="create_key",outcome="ok"}`, 1},
		{`keyplane_commands_total{command="create_key",outcome="invalid"}`, 1},
		{`keyplane_commands_total{command="invalidate_key",outcome="ok"}`, 1},
		{`keyplane_auth_total{verdict="valid"}`, 2},
		{`keyplane_auth_total{verdict="malformed"}`, 1},
		{`keyplane_auth_total{verdict="invalidated"}`, 1},
		{`keyplane_auth_total{verdict="wrong_secret"}`, 0},
		{`keyplane_projection_lag_sequences`, 0},
		{`keyplane_projection_lag_seconds`, 0},
		{`keyplane_auth_index_keys`, 1},
		{`keyplane_conflicts_total`, 0},
		{`keyplane_notices_delivered_total`, 0},
		{`keyplane_notices_failed_total`, 0},
	}
	for _, tt := range tests {
		if got := metric(t, a, tt.sample); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.sample, got, tt.want)
		}
	}
	if applied := metric(t, a, "keyplane_projection_applied_sequence"); applied < 1 {
		t.Errorf("applied sequence %v", applied)
	}
}

// TestLogDownKeysStillAuthenticate stops the log under a running replica:
// known keys keep authenticating from the local auth index (never a false
// 401), commands answer 503 with Retry-After at once, and /readyz says why.
func TestLogDownKeysStillAuthenticate(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	const base = "/api/v1/orgs/default/api-keys"
	id, enc := alice.createKey(base, map[string]any{"name": "survivor"})

	a.Log.Server().Shutdown()
	a.Log.Server().WaitForShutdown()

	key := a.as(t, apiKey(enc))
	for range 3 {
		key.do("GET", base+"/"+id, nil).must(t, 200)
		key.do("GET", "/api/v1/whoami", nil).must(t, 200)
	}
	start := time.Now()
	r := alice.do("POST", base, map[string]any{"name": "while-down"}, "Idempotency-Key", "down-1").must(t, 503)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	alice.do("DELETE", base+"/"+id, nil).must(t, 503)
	t.Logf("a command against a stopped log answered 503 in %v", time.Since(start).Round(time.Millisecond))
	ready := a.as(t, "").do("GET", "/readyz", nil).must(t, 503)
	if ready.body["ready"] != false || ready.str("reason") == "" || ready.header.Get("Retry-After") == "" {
		t.Fatalf("readyz with the log down: %s", ready.raw)
	}
	// The key was not revoked: it still works.
	key.do("GET", base+"/"+id, nil).must(t, 200)
	if got := metric(t, a, `keyplane_commands_total{command="create_key",outcome="unavailable"}`); got != 1 {
		t.Fatalf("unavailable creates counted %v", got)
	}
}
