package clustertest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testsmtp"
	"github.com/keyplane/keyplane/internal/testwait"
)

// TestNotifierOnTwoReplicasSendsEachNoticeOnce runs the expiry notifier on
// two replicas, scanning every second, over one mail server. Keys about to
// expire, created on both replicas, each get one notice, mailed once to
// each recipient: both scans record it (create-if-absent keeps one), and
// the shared durable consumer hands it to one replica's worker.
func TestNotifierOnTwoReplicasSendsEachNoticeOnce(t *testing.T) {
	s := startSetup(t, 0)
	box := testsmtp.New(t).Start()
	flags := []string{"--smtp-addr", box.Addr(), "--smtp-from", "keyplane <noreply@example.com>", "--notify-schedule", "@every 1s"}
	for _, name := range []string{"keyplane-a", "keyplane-b"} {
		s.replicas = append(s.replicas, s.startReplica(t, name, flags...))
	}
	a, b := s.replicas[0].URL(), s.replicas[1].URL()
	must(t, "PUT", a+"/api/v1/orgs/default/contacts", ownerAuth, map[string]any{"emails": []string{"ops@example.com", "sec@example.com"}}, http.StatusOK)

	const n = 20
	for i := range n {
		url := []string{a, b}[i%2]
		must(t, "POST", url+keysPath, ownerAuth, map[string]any{"name": keyName("expiring", i), "expiration": "12h"}, http.StatusCreated)
	}
	// Every notice delivered, as both replicas read the log.
	const recipients = 2
	for _, url := range []string{a, b} {
		waitMetric(t, url, "keyplane_notices_delivered_total", n*recipients, 60*time.Second)
	}
	mails := byMessageID(box.Mails())
	if len(mails) != n*recipients {
		t.Fatalf("%d distinct (Message-ID, recipient) mailed, want %d", len(mails), n*recipients)
	}
	for id, count := range mails {
		if count != 1 {
			t.Errorf("%s mailed %d times", id, count)
		}
	}
}

// waitMetric polls a replica's /metrics until sample reaches want.
func waitMetric(t testing.TB, base, sample string, want float64, timeout time.Duration) {
	t.Helper()
	var got float64
	if !testwait.Until(timeout, func() bool {
		a, err := call(context.Background(), "GET", base+"/metrics", "", nil)
		if err == nil {
			for _, line := range strings.Split(a.raw, "\n") {
				if name, v, ok := strings.Cut(line, " "); ok && name == sample {
					got, _ = strconv.ParseFloat(v, 64)
				}
			}
		}
		return err == nil && got >= want
	}) {
		t.Fatalf("%s at %s is %v after %v, want %v", sample, base, got, timeout, want)
	}
}
