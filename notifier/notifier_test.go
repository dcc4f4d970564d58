package notifier_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testsmtp"
	"github.com/keyplane/keyplane/notifier"
)

func subject(t *testing.T, m testsmtp.Mail) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tally counts mails per (window, recipient), the window read from the
// body, and checks that every Message-ID is distinct.
func tally(t *testing.T, mails []testsmtp.Mail) map[string]int {
	t.Helper()
	out := map[string]int{}
	ids := map[string]bool{}
	for _, m := range mails {
		if len(m.To) != 1 {
			t.Fatalf("a mail to %v: each recipient gets their own", m.To)
		}
		_, rest, _ := strings.Cut(m.Text, `This is notice "`)
		w, _, _ := strings.Cut(rest, `"`)
		out[w+" "+m.To[0]]++
		id := m.Header.Get("Message-Id")
		if ids[id] {
			t.Fatalf("Message-ID %s sent twice", id)
		}
		ids[id] = true
	}
	return out
}

func wantTally(t *testing.T, mails []testsmtp.Mail, windows ...string) {
	t.Helper()
	got := tally(t, mails)
	want := map[string]int{}
	for _, w := range windows {
		for _, r := range recipients {
			want[w+" "+r] = 1
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mails per window and recipient:\n got %v\nwant %v", got, want)
	}
}

func TestEachWindowMailsEachRecipientOnce(t *testing.T) {
	box := testsmtp.New(t).Start()
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	e.withCarol()
	id, secret := e.createKey("ci-deploy", "8d")
	exp := t0.Add(8 * day)

	steps := []struct {
		name    string
		at      time.Time
		windows []string // every mail so far
		expired int
	}{
		{"8 days left: the 30d window", t0, []string{"30d"}, 0},
		{"the same moment again: nothing new", t0.Add(time.Minute), []string{"30d"}, 0},
		{"just inside 7 days", exp.Add(-7*day + time.Minute), []string{"30d", "7d"}, 0},
		{"a day later, still the 7d window", exp.Add(-6 * day), []string{"30d", "7d"}, 0},
		{"just inside a day", exp.Add(-day + time.Minute), []string{"30d", "7d", "1d"}, 0},
		{"expired: recorded, no mail", exp.Add(time.Minute), []string{"30d", "7d", "1d"}, 1},
		{"long after", exp.Add(30 * day), []string{"30d", "7d", "1d"}, 0},
	}
	for _, s := range steps {
		c.Set(s.at)
		res := e.scan(c)
		e.settled()
		if res.Expired != s.expired {
			t.Fatalf("%s: %d expiries recorded, want %d", s.name, res.Expired, s.expired)
		}
		wantTally(t, box.Mails(), s.windows...)
	}

	// The content of the 7d notice to the operational contact.
	var m testsmtp.Mail
	for _, x := range box.Mails() {
		if x.To[0] == "ops@example.com" && strings.Contains(x.Text, `notice "7d"`) {
			m = x
		}
	}
	if got := subject(t, m); got != `keyplane: API key "ci-deploy" expires in 6 days (2026-12-01 12:00 UTC)` {
		t.Errorf("subject %q", got)
	}
	org := e.Dir.Orgs()[0]
	proj, _ := org.ProjectNamed("default")
	keys := "/api/v1/orgs/" + string(org.ID) + "/projects/" + string(proj.ID) + "/api-keys"
	for _, want := range []string{"ci-deploy", "id " + string(id), "Organization: default (id " + string(org.ID) + ")",
		"Project:      default (id " + string(proj.ID) + ")", "2026-12-01 12:00 UTC", "expires in 6 days",
		"POST " + keys + "/" + string(id) + "/_rotate", "POST /api/v1/api-keys/_self/_rotate",
		`"Rotate" on the key's page in the console: /console/#/o/default/keys/` + string(id) + "?project=default"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{"<strong>ci-deploy</strong>", string(id), "2026-12-01 12:00 UTC", "POST " + keys + "/" + string(id) + "/_rotate",
		"<strong>Rotate</strong>"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
		}
	}
	notice := domain.NoticeAggID(id, domain.NoticeWindow(7*day), exp)
	if got, want := m.Header.Get("Message-Id"), "<"+domain.NoticeMessageID(notice, "ops@example.com", "keyplane.example")+">"; got != want {
		t.Errorf("Message-ID %s, want %s", got, want)
	}
	if m.From != "noreply@keyplane.example" || m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("from %q, Auto-Submitted %q", m.From, m.Header.Get("Auto-Submitted"))
	}
	for _, x := range box.Mails() {
		if strings.Contains(x.Raw, secret) {
			t.Fatal("a mail holds the key's secret")
		}
	}

	// The expiry is in the key's status and in the audit trail.
	key := e.must(200, carolAuth, "GET", projectKeys+"/"+string(id), nil)
	if key["status"] != "expired" {
		t.Fatalf("status %v", key["status"])
	}
	audit := e.must(200, ownerAuth, "GET", "/api/v1/orgs/default/audit?type=KeyExpired&key_id="+string(id), nil)
	if audit["count"].(float64) != 1 {
		t.Fatalf("audit of the expiry: %v", audit)
	}
	if got := len(events[domain.NoticeDelivered](t, e.App)); got != 6 {
		t.Fatalf("%d NoticeDelivered events, want 6", got)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestTwoReplicasMailOnce(t *testing.T) {
	box := testsmtp.New(t).Start()
	c := newClock()
	natsAddr := freePort(t)
	a := startApp(t, options{clock: c, notify: smtpTo(box), natsListen: natsAddr})
	b := startApp(t, options{clock: c, notify: smtpTo(box), natsURL: "nats://" + natsAddr})
	a.withCarol()
	id, _ := a.createKey("shared", "8d")
	waitFor(t, "the key on replica b", func() bool { _, ok := b.Keys.Get(a.Dir.Orgs()[0].ID, id); return ok })
	exp := t0.Add(8 * day)

	steps := []time.Time{t0, exp.Add(-7*day + time.Minute), exp.Add(-day + time.Minute), exp.Add(time.Minute)}
	for i, at := range steps {
		c.Set(at)
		// Both replicas scan at once, twice each.
		var wg sync.WaitGroup
		for _, e := range []*env{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if _, err := e.Notifier.Scan(ctx, at); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		a.settled()
		b.settled()
		notices, expiries := len(events[domain.ExpiryNoticeRecorded](t, a.App)), len(events[domain.KeyExpired](t, b.App))
		if want := min(i+1, 3); notices != want || expiries != i/3 {
			t.Fatalf("step %d: %d notices and %d expiries in the log, want %d and %d", i, notices, expiries, want, i/3)
		}
	}
	wantTally(t, box.Mails(), "30d", "7d", "1d")
	if got := len(events[domain.NoticeDelivered](t, b.App)); got != 6 {
		t.Fatalf("%d NoticeDelivered events, want 6", got)
	}
}

func TestNoticesWaitForTheMailServer(t *testing.T) {
	box := testsmtp.New(t).Start()
	box.Stop() // down, and its address known
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	e.withCarol()
	e.createKey("patient", "8d")
	if res := e.scan(c); res.Noticed != 1 {
		t.Fatalf("scan: %+v", res)
	}
	waitFor(t, "a failed attempt", func() bool { return strings.Contains(e.logs.String(), "not sent yet; will retry") }, e.logs)
	if e.Notices.Len() != 1 {
		t.Fatal("the notice must wait for the mail server")
	}
	box.Start()
	e.settled()
	wantTally(t, box.Mails(), "30d")
	for _, d := range events[domain.NoticeDelivered](t, e.App) {
		if d.Attempts < 2 {
			t.Fatalf("delivered at attempt %d while the server was down at the first", d.Attempts)
		}
	}
}

func TestNoticesWithoutSMTPAreKeptUntilItIsConfigured(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	e := startApp(t, options{dir: dir, clock: c})
	e.withCarol()
	e.createKey("kept", "8d")
	revoked, _ := e.createKey("revoked", "8d")
	extended, _ := e.createKey("extended", "8d")
	if res := e.scan(c); res.Noticed != 3 {
		t.Fatalf("scan: %+v", res)
	}
	if !strings.Contains(e.logs.String(), "waiting for an SMTP server") {
		t.Fatalf("recorded notices must be logged:\n%s", e.logs.String())
	}
	// Two notices go stale before any could be sent.
	e.must(200, carolAuth, "DELETE", projectKeys+"/"+string(revoked), nil)
	e.must(200, carolAuth, "PUT", projectKeys+"/"+string(extended), map[string]any{"expiration": "90d"})
	e.Close()

	box := testsmtp.New(t).Start()
	e = startApp(t, options{dir: dir, clock: c, notify: smtpTo(box)})
	e.settled()
	mails := box.Mails()
	wantTally(t, mails, "30d")
	for _, m := range mails {
		if !strings.Contains(m.Text, `"kept"`) {
			t.Fatalf("a stale notice was sent: %s", subject(t, m))
		}
	}
	var reasons []string
	for _, cn := range events[domain.NoticeCanceled](t, e.App) {
		reasons = append(reasons, cn.Reason)
	}
	sort.Strings(reasons)
	if fmt.Sprint(reasons) != "[the key was revoked the key's expiration changed]" {
		t.Fatalf("canceled: %v", reasons)
	}
}

func TestRevokedAndExtendedKeys(t *testing.T) {
	box := testsmtp.New(t).Start()
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	e.withCarol()
	revoked, _ := e.createKey("revoked", "40d")
	extended, _ := e.createKey("extended", "8d")
	e.must(200, carolAuth, "DELETE", projectKeys+"/"+string(revoked), nil)

	if res := e.scan(c); res.Noticed != 1 { // extended's 30d; the revoked key is not due, ever
		t.Fatalf("scan: %+v", res)
	}
	e.settled()
	e.must(200, carolAuth, "PUT", projectKeys+"/"+string(extended), map[string]any{"expiration": "90d"})
	newExp := t0.Add(90 * day)
	// The old expiry's windows and the old expiry itself pass quietly.
	for _, at := range []time.Time{t0.Add(day + time.Minute), t0.Add(7*day + time.Minute), t0.Add(8*day + time.Minute), newExp.Add(-30*day - time.Minute)} {
		c.Set(at)
		if res := e.scan(c); res != (notifier.ScanResult{}) {
			t.Fatalf("at %v: %+v", at, res)
		}
	}
	c.Set(newExp.Add(-30*day + time.Minute))
	if res := e.scan(c); res.Noticed != 1 {
		t.Fatalf("new 30d window: %+v", res)
	}
	e.settled()
	mails := box.Mails()
	if len(mails) != 4 {
		t.Fatalf("%d mails, want 2 for the old expiry's 30d window and 2 for the new one's", len(mails))
	}
	for _, m := range mails {
		if strings.Contains(m.Text, `"revoked"`) || !strings.Contains(m.Text, string(extended)) {
			t.Fatalf("unexpected mail: %s", subject(t, m))
		}
	}
	if !strings.Contains(mails[3].Text, "2027-02-21 12:00 UTC") {
		t.Fatalf("the new notice must name the new expiry:\n%s", mails[3].Text)
	}
}

func TestFailuresAreRecordedAfterMaxAttempts(t *testing.T) {
	box := testsmtp.New(t)
	box.Reject["ops@example.com"] = true // a permanent 550: not retried
	box.Start()
	c := newClock()
	cfg := smtpTo(box)
	cfg.MaxAttempts = 3
	e := startApp(t, options{clock: c, notify: cfg})
	e.withCarol()
	e.createKey("k", "8d")
	e.scan(c)
	e.settled()
	failed := events[domain.NoticeFailed](t, e.App)
	if len(failed) != 1 || failed[0].Recipient != "ops@example.com" || failed[0].Attempts != 1 || !strings.Contains(failed[0].Error, "550") {
		t.Fatalf("failed: %+v", failed)
	}
	if len(box.Mails()) != 1 {
		t.Fatalf("%d mails, want carol's", len(box.Mails()))
	}

	// A server that stays down: three attempts, then NoticeFailed.
	box.Stop()
	c.Set(t0.Add(day + time.Minute)) // the 7d window
	e.scan(c)
	e.settled()
	failed = events[domain.NoticeFailed](t, e.App)
	if len(failed) != 3 || failed[1].Attempts != 3 || failed[2].Attempts != 3 {
		t.Fatalf("failed: %+v", failed)
	}
}

func TestTheScheduleIsReal(t *testing.T) {
	box := testsmtp.New(t).Start()
	cfg := smtpTo(box)
	cfg.Schedule = "@every 1s"
	e := startApp(t, options{notify: cfg})
	e.withCarol()
	// The scan at start may or may not find the first key; it is over once
	// that key's mails are in, so only the schedule can find the second.
	e.createKey("soon", "2d")
	waitFor(t, "the first key's mails", func() bool { return len(box.Mails()) == 2 })
	e.createKey("later", "2d")
	waitFor(t, "a scheduled scan's mails", func() bool { return len(box.Mails()) == 4 })
}

func TestANoticeWithNobodyToTellIsRecordedAndSaysSo(t *testing.T) {
	box := testsmtp.New(t).Start()
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	// alice, the bootstrap owner, has no email, and there are no contacts.
	e.must(201, ownerAuth, "POST", projectKeys, map[string]any{"name": "lonely", "expiration": "2d"})
	if res := e.scan(c); res.Noticed != 1 {
		t.Fatalf("scan: %+v", res)
	}
	e.settled()
	if len(box.Mails()) != 0 || !strings.Contains(e.logs.String(), "nobody to tell") {
		t.Fatalf("%d mails; log:\n%s", len(box.Mails()), e.logs.String())
	}
}

// A key ended by rotation is owed no "expires soon" notice, not even one
// recorded before the rotation and not delivered yet; its successor is
// noticed as any key is, and the old key's expiry is still recorded.
func TestARotatedKeyGetsNoNoticeItsSuccessorDoes(t *testing.T) {
	box := testsmtp.New(t).Start()
	box.Stop() // down, and its address known
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	e.withCarol()
	pending, _ := e.createKey("pending", "8d")
	// The 30d notice of "pending" is recorded while the mail server is
	// down; then the key is rotated: the notice is canceled, not sent.
	if res := e.scan(c); res.Noticed != 1 {
		t.Fatalf("scan: %+v", res)
	}
	waitFor(t, "a failed attempt", func() bool { return strings.Contains(e.logs.String(), "not sent yet; will retry") }, e.logs)
	rotated := e.must(201, carolAuth, "POST", projectKeys+"/"+string(pending)+"/_rotate", map[string]any{"grace": "7d", "expiration": "8d"})
	successor := domain.KeyID(rotated["id"].(string))
	box.Start()
	e.settled()
	if n := len(box.Mails()); n != 0 {
		t.Fatalf("%d mails about a rotated key", n)
	}
	canceled := events[domain.NoticeCanceled](t, e.App)
	if len(canceled) != 1 || canceled[0].Reason != "the key was rotated" {
		t.Fatalf("canceled: %+v", canceled)
	}

	// Through the old key's grace (7 days, inside every window) only the
	// successor is noticed; at the end of the grace the old key's expiry
	// is recorded.
	for _, step := range []struct {
		at               time.Duration
		noticed, expired int
	}{{time.Minute, 1, 0}, {day + time.Minute, 1, 0}, {7*day + time.Minute, 1, 1}} {
		c.Set(t0.Add(step.at))
		if res := e.scan(c); res.Noticed != step.noticed || res.Expired != step.expired {
			t.Fatalf("at +%v: %+v, want %d noticed, %d expired", step.at, res, step.noticed, step.expired)
		}
		e.settled()
	}
	for _, m := range box.Mails() {
		if !strings.Contains(m.Text, string(successor)) || strings.Contains(m.Text, "id "+string(pending)) {
			t.Fatalf("a mail not about the successor: %s\n%s", subject(t, m), m.Text)
		}
	}
	if n := len(box.Mails()); n != 3*len(recipients) {
		t.Fatalf("%d mails, want the successor's 30d, 7d and 1d notices to each recipient", n)
	}
}

func TestExpiryNoticesSayWhenTheKeyWasLastUsed(t *testing.T) {
	box := testsmtp.New(t).Start()
	c := newClock()
	e := startApp(t, options{clock: c, notify: smtpTo(box)})
	e.withCarol()
	used, secret := e.createKey("ci-deploy", "8d")
	e.createKey("forgotten", "8d")
	encoded := base64.StdEncoding.EncodeToString([]byte(string(used) + ":" + secret))
	if r := testhttp.Do(t, "GET", e.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+encoded); r.Status != 200 {
		t.Fatalf("whoami with the key: %d %s", r.Status, r.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	c.Add(3 * day)
	e.scan(c)
	e.settled()
	texts := map[string]testsmtp.Mail{}
	for _, m := range box.Mails() {
		if m.To[0] == "ops@example.com" {
			texts[subject(t, m)] = m
		}
	}
	for name, want := range map[string]string{
		"ci-deploy": "It was last used 3 days ago (" + t0.UTC().Format("2006-01-02 15:04 UTC") + ").",
		"forgotten": "It was never used. If nothing needs it, let it expire, or revoke it.",
	} {
		var m testsmtp.Mail
		for s, x := range texts {
			if strings.Contains(s, `"`+name+`"`) {
				m = x
			}
		}
		if !strings.Contains(m.Text, want) {
			t.Errorf("the notice of %s lacks %q:\n%s", name, want, m.Text)
		}
		if html := strings.ReplaceAll(strings.ReplaceAll(want, "It was ", "It was <strong>"), "ago (", "ago</strong> ("); name == "ci-deploy" && !strings.Contains(m.HTML, html) {
			t.Errorf("the HTML notice of %s lacks %q:\n%s", name, html, m.HTML)
		}
	}
}
