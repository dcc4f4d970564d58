package clustertest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
)

// TestAReplicaFailsClosedOnAnEventItCannotFold writes, past keyplane, an
// event on a real key's subject that no decoder can read (metadata nested
// 10,001 deep), with the headers keyplane writes. A replica that meets it
// must neither stop there (keys revoked afterwards would keep
// authenticating, new keys stay unknown) nor skip it silently: it refuses
// that key, folds everything after it, reports the event on /readyz and
// /metrics, keeps the audit trail and as-of answering, and does all that
// again after a restart from its snapshot and from a fold of the whole log.
func TestAReplicaFailsClosedOnAnEventItCannotFold(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server and three keyplane replicas")
	}
	ns := testproc.StartCluster(t, testproc.ClusterOptions{Nodes: 1, SyncAlways: true})
	replica := func(name string, flags ...string) *testproc.Replica {
		args := append([]string{"--nats-url", ns.ClientURLs(), "--replicas", "1", "--data-dir", t.TempDir()}, flags...)
		return testproc.StartReplica(t, name, args...)
	}
	a, b := replica("keyplane-a"), replica("keyplane-b")
	ctx := t.Context()
	keys := map[string]key{}
	for _, name := range []string{"poisoned", "revoked-after", "untouched"} {
		k, ans, err := create(ctx, a.URL(), name)
		if err != nil || ans.status != http.StatusCreated {
			t.Fatalf("create %s: %v %s", name, err, ans.raw)
		}
		keys[name] = k
		waitStatus(t, b.URL(), "/api/v1/whoami", "ApiKey "+k.encoded, http.StatusOK, 10*time.Second)
	}
	org := must(t, "GET", a.URL()+"/api/v1/orgs/default", ownerAuth, nil, http.StatusOK).str("id")
	subject := "kp." + org + ".key." + keys["poisoned"].id
	seq := testproc.PublishUndecodable(t, ns.ClientURLs(), subject, "KeyUpdated", 2)

	// After it: a revocation and a new key, made on A.
	must(t, "DELETE", a.URL()+keysPath+"/"+keys["revoked-after"].id, ownerAuth, nil, http.StatusOK)
	k, ans, err := create(ctx, a.URL(), "created-after")
	if err != nil || ans.status != http.StatusCreated {
		t.Fatalf("create after the bad event: %v %s", err, ans.raw)
	}
	keys["created-after"] = k

	check := func(t *testing.T, base string) {
		t.Helper()
		for name, want := range map[string]int{"poisoned": 401, "revoked-after": 401, "untouched": 200, "created-after": 200} {
			waitStatus(t, base, "/api/v1/whoami", "ApiKey "+keys[name].encoded, want, 10*time.Second)
		}
		// The poisoned key is refused on commands too, and hidden.
		must(t, "GET", base+keysPath+"/"+keys["poisoned"].id, ownerAuth, nil, http.StatusNotFound)
		must(t, "DELETE", base+keysPath+"/"+keys["poisoned"].id, ownerAuth, nil, http.StatusNotFound)
		if n := keysNamed(t, base, "poisoned"); n["poisoned"] != 0 {
			t.Errorf("the poisoned key is listed: %v", n)
		}
		ready := must(t, "GET", base+"/readyz", "", nil, http.StatusOK)
		// Anyone may ask /readyz: it names the event's sequence and kind
		// of aggregate, not the organization or the key, nor its content.
		want := fmt.Sprintf(`"seq":%d,"subject":"kp.*.key.*"`, seq)
		if !strings.Contains(ready.raw, want) || ready.body["poisoned_count"] != float64(1) {
			t.Errorf("/readyz does not report the event (%s): %s", want, ready.raw)
		}
		if strings.Contains(ready.raw, "deep") || strings.Contains(ready.raw, org) || strings.Contains(ready.raw, keys["poisoned"].id) {
			t.Errorf("/readyz says more than it may: %s", ready.raw)
		}
		metrics := must(t, "GET", base+"/metrics", "", nil, http.StatusOK).raw
		if !strings.Contains(metrics, "\nkeyplane_projection_poisoned_events_total 1\n") {
			t.Errorf("/metrics does not count the event:\n%s", grepLines(metrics, "poisoned"))
		}
		// The organization's audit trail and as-of lists answer, and say
		// what they could not read.
		audit := must(t, "GET", base+"/api/v1/orgs/default/audit?size=1000", ownerAuth, nil, http.StatusOK)
		if !strings.Contains(audit.raw, `"unreadable":true`) {
			t.Errorf("the audit trail does not mark the event: %s", audit.raw)
		}
		past := must(t, "GET", base+keysPath+"?as_of="+strconv.FormatUint(seq+1, 10), ownerAuth, nil, http.StatusOK)
		if !strings.Contains(past.raw, subject) || strings.Contains(past.raw, `"name":"poisoned"`) {
			t.Errorf("as_of past the event: %s", past.raw)
		}
	}
	t.Run("the other replica", func(t *testing.T) {
		check(t, b.URL())
		// Its log names the event in full, and nothing of its content.
		logged := grepLines(b.Tail(), "quarantined")
		if !strings.Contains(logged, fmt.Sprintf("seq=%d subject=%s", seq, subject)) || strings.Contains(logged, "deep") {
			t.Errorf("B's log line: %q", logged)
		}
	})
	t.Run("the replica that answered", func(t *testing.T) { check(t, a.URL()) })

	// A graceful stop saves a snapshot past the event: the restart starts
	// from it, and still refuses the key.
	b.Stop(30 * time.Second)
	b.Restart()
	if !strings.Contains(b.Tail(), "projections restored from snapshot") {
		t.Errorf("B did not restart from a snapshot:\n%s", b.Tail())
	}
	t.Run("restarted from a snapshot", func(t *testing.T) { check(t, b.URL()) })
	c := replica("keyplane-c", "--snapshot-interval=-1s")
	t.Run("started on the whole log", func(t *testing.T) { check(t, c.URL()) })
}

// grepLines are the lines of s that hold sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
