package clustertest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
)

// TestRevocationPropagates revokes keys on replica A and polls replica B
// until B refuses them: a write to one replica is visible on the other.
// It reports the propagation delay (from A's acknowledgement to B's first
// 401) as p50/p99; the figures are reported, not asserted.
func TestRevocationPropagates(t *testing.T) {
	s := startSetup(t, 2)
	d := measurePropagation(t, s.replicas[0].URL(), s.replicas[1].URL(), "prop", 100)
	t.Logf("revocation on A refused by B after p50 %v, p99 %v, max %v (%d keys)",
		percentile(d, 50), percentile(d, 99), d[len(d)-1], len(d))
	t.Run("console logout", func(t *testing.T) { checkLogoutPropagates(t, s.replicas[0].URL(), s.replicas[1].URL()) })
}

// checkLogoutPropagates logs in to the console on a, uses the session on b
// (every replica accepts every replica's sessions), logs out on a, and
// waits until b refuses the old cookie: a copy of it is worth nothing after
// the logout, whichever replica it is sent to.
func checkLogoutPropagates(t *testing.T, a, b string) {
	ctx := context.Background()
	user, pw, _ := strings.Cut(testproc.Owner, ":")
	login := must(t, "POST", a+"/console/login", "", map[string]any{"name": user, "password": pw}, http.StatusOK)
	var cookie string
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		if c.Name == "keyplane_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("no session cookie in %v", login.header)
	}
	if ans, err := call(ctx, "GET", b+"/api/v1/whoami", "", nil, "Cookie", cookie); err != nil || ans.status != http.StatusOK {
		t.Fatalf("session from A on B: %v %d %s", err, ans.status, ans.raw)
	}
	if ans, err := call(ctx, "POST", a+"/console/logout", "", nil, "Cookie", cookie, "X-CSRF-Token", login.str("csrf_token")); err != nil || ans.status != http.StatusNoContent {
		t.Fatalf("logout on A: %v %d %s", err, ans.status, ans.raw)
	}
	waitStatus(t, b, "/api/v1/whoami", "", http.StatusUnauthorized, 10*time.Second, "Cookie", cookie)
}

// measurePropagation creates n keys on a, waits until b knows each, revokes
// it on a and times how long b goes on accepting it. The delays come back
// sorted.
func measurePropagation(t testing.TB, a, b, prefix string, n int) []time.Duration {
	t.Helper()
	var delays []time.Duration
	for i := range n {
		k, ans, err := create(context.Background(), a, keyName(prefix, i))
		if err != nil || ans.status != http.StatusCreated {
			t.Fatalf("create on A: %v %d %s", err, ans.status, ans.raw)
		}
		auth := "ApiKey " + k.encoded
		waitStatus(t, b, "/api/v1/whoami", auth, http.StatusOK, 10*time.Second)
		must(t, "DELETE", a+keysPath+"/"+k.id, ownerAuth, nil, http.StatusOK)
		acked := time.Now()
		for {
			r, err := call(context.Background(), "GET", b+"/api/v1/whoami", auth, nil)
			if err == nil && r.status == http.StatusUnauthorized {
				break
			}
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("B still accepts key %s 10s after A revoked it (%d %v)", k.id, r.status, err)
			}
			time.Sleep(100 * time.Microsecond)
		}
		delays = append(delays, time.Since(acked))
	}
	slices.Sort(delays)
	return delays
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
