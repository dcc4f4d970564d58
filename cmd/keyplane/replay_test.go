package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/projections"
)

const rpOwner = testapp.Owner + ":" + testapp.Password

func rpStart(t *testing.T, dir, natsListen string) *app.App {
	t.Helper()
	return testapp.StartIn(t, dir, func(c *app.Config) { c.NatsListen = natsListen })
}

// rpNatsAddr picks a free loopback address for the server's NATS listener.
func rpNatsAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(testproc.FreePorts(t, 1)[0])
}

// rpDo sends one request as the owner and decodes the JSON answer.
func rpDo(t *testing.T, a *app.App, method, path string, body any, want int) map[string]any {
	t.Helper()
	res := testhttp.Do(t, method, a.URL()+path, body, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(rpOwner)))
	if res.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, want, res.Raw)
	}
	return res.Body
}

// rpHistory creates two keys, revokes one, and returns the revoked key's
// secret and the sequence just before the revoke.
func rpHistory(t *testing.T, a *app.App) (secret string, beforeRevoke uint64) {
	t.Helper()
	base := "/api/v1/orgs/default/api-keys"
	k := rpDo(t, a, "POST", base, map[string]any{"name": "doomed"}, 201)
	rpDo(t, a, "POST", base, map[string]any{"name": "kept"}, 201)
	rpDo(t, a, "POST", base, map[string]any{"name": "idem"}, 201)
	beforeRevoke = a.Runner.Applied()
	rpDo(t, a, "DELETE", base+"/"+k["id"].(string), nil, 200)
	return k["api_key"].(string), beforeRevoke
}

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestReplayOfAStoppedLogEqualsItsSnapshotPlusTail(t *testing.T) {
	dir := t.TempDir()
	a := rpStart(t, dir, "")
	rpHistory(t, a)
	a.Close()
	code, out, errs := run("replay", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "snapshot at sequence") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// Not a terminal: the progress is plain lines.
	if !strings.Contains(errs, "replay: ") || strings.Contains(errs, "\r") {
		t.Fatalf("progress on a non-terminal: %q", errs)
	}
}

func TestReplayExitsNonZeroOnADifference(t *testing.T) {
	dir := t.TempDir()
	a := rpStart(t, dir, "")
	rpHistory(t, a)
	a.Close()
	// A snapshot that decodes fine but whose audit index lost its entries:
	// what a projection bug would leave behind.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.GetSnapshot(ctx, "projections")
	s, err := projections.DecodeSavedState(b)
	if err != nil {
		t.Fatal(err)
	}
	s.Parts["audit@2"], _ = projections.NewAudit().Snapshot()
	if err := l.PutSnapshot(ctx, "projections", s.Encode()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	code, out, errs := run("replay", "--data-dir", dir)
	if code != 1 || !strings.Contains(out, "DIFFERENT") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "@") && strings.HasPrefix(line, "audit@") != strings.HasSuffix(line, "DIFFERENT") {
			t.Fatalf("only the audit index differs, got:\n%s", out)
		}
	}
}

func TestReplayComparesWithALiveServer(t *testing.T) {
	natsAddr := rpNatsAddr(t)
	dir := t.TempDir()
	a := rpStart(t, dir, natsAddr)
	rpHistory(t, a)
	code, out, errs := run("replay", "--nats-url", "nats://"+natsAddr, "--server", a.URL())
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "live server") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// The data dir itself is the server's alone.
	code, _, errs = run("replay", "--data-dir", dir)
	if code != 1 || !strings.Contains(errs, "in use") {
		t.Fatalf("replay on a live data dir: exit %d, %s", code, errs)
	}
}

func TestReplayAsOfPrintsThePastKeyList(t *testing.T) {
	dir := t.TempDir()
	a := rpStart(t, dir, "")
	_, before := rpHistory(t, a)
	a.Close()
	status := func(at string) map[string]string {
		t.Helper()
		code, out, errs := run("replay", "--data-dir", dir, "--org", "default", "--json", "--as-of", at)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var body struct {
			Keys []struct{ Name, Status string } `json:"api_keys"`
		}
		if err := json.Unmarshal([]byte(out), &body); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		m := map[string]string{}
		for _, k := range body.Keys {
			m[k.Name] = k.Status
		}
		return m
	}
	if got := status(strconv.FormatUint(before, 10)); got["doomed"] != "active" || got["kept"] != "active" {
		t.Fatalf("before the revoke: %v", got)
	}
	if got := status(time.Now().Add(time.Minute).Format(time.RFC3339)); got["doomed"] != "invalidated" || got["kept"] != "active" {
		t.Fatalf("after the revoke: %v", got)
	}
	code, out, _ := run("replay", "--data-dir", dir, "--as-of", strconv.FormatUint(before, 10))
	if code != 0 || !strings.Contains(out, "STATUS") || !strings.Contains(out, "doomed") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
	// Before any key event: an empty list, without a time of the year 1.
	past := "2020-01-01T00:00:00Z"
	if code, out, _ := run("replay", "--data-dir", dir, "--as-of", past); code != 0 || !strings.Contains(out, "before any key event") {
		t.Fatalf("table before anything: exit %d\n%s", code, out)
	}
	if code, out, _ := run("replay", "--data-dir", dir, "--json", "--as-of", past); code != 0 || !strings.Contains(out, `"time": null`) || strings.Contains(out, "0001") {
		t.Fatalf("json before anything: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"--as-of", "last tuesday"}, {"--as-of", time.Now().AddDate(1, 0, 0).Format(time.RFC3339)}, {"--org"}, {"stray"}} {
		if code, _, _ := run(append([]string{"replay", "--data-dir", dir}, bad...)...); code != 2 {
			t.Errorf("replay %v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errs := run("replay", "--data-dir", dir, "--as-of", "1", "--org", "nope"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("unknown org: exit %d, %s", code, errs)
	}
}

func TestAuditExportWritesOneEntryPerLine(t *testing.T) {
	dir := t.TempDir()
	a := rpStart(t, dir, "")
	secret, _ := rpHistory(t, a)
	a.Close()
	code, out, errs := run("audit", "export", "--data-dir", dir, "--org", "default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "hash") {
		t.Fatal("the export shows key material")
	}
	types := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	var lastSeq float64
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, f := range []string{"seq", "id", "time", "org", "type", "actor", "source", "correlation_id", "change"} {
			if _, ok := e[f]; !ok {
				t.Fatalf("line without %s: %s", f, sc.Text())
			}
		}
		if e["seq"].(float64) <= lastSeq {
			t.Fatalf("lines out of order: %s", sc.Text())
		}
		lastSeq = e["seq"].(float64)
		types[e["type"].(string)]++
	}
	if types["KeyCreated"] != 3 || types["KeyInvalidated"] != 1 || types["OrgCreated"] != 1 {
		t.Fatalf("exported types %v", types)
	}
	if code, out, _ := run("audit", "export", "--data-dir", dir, "--org", "default", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); code != 0 || out != "" {
		t.Fatalf("a window after everything: exit %d, %q", code, out)
	}
	for _, bad := range [][]string{{"audit"}, {"audit", "import"}, {"audit", "export"}, {"audit", "export", "--org", "default", "--since", "soon"}} {
		if code, _, _ := run(append(bad, "--data-dir", dir)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

func TestReplayKnowsWhenEachKeyWasLastUsedAndAsOfPrintsIt(t *testing.T) {
	natsAddr := rpNatsAddr(t)
	dir := t.TempDir()
	a := rpStart(t, dir, natsAddr)
	used := rpDo(t, a, "POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "used"}, 201)
	rpDo(t, a, "POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "idle"}, 201)
	if r := testhttp.Do(t, "GET", a.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+used["encoded"].(string)); r.Status != 200 {
		t.Fatalf("whoami: %d %s", r.Status, r.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := a.FlushUsage(ctx); err != nil || n != 1 {
		t.Fatalf("flush: %d records, %v", n, err)
	}
	// The live server's digests (its key list holds last use) equal a replay's.
	code, out, errs := run("replay", "--nats-url", "nats://"+natsAddr, "--server", a.URL())
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("replay against the live server: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run("replay", "--nats-url", "nats://"+natsAddr, "--as-of", time.Now().Add(time.Minute).Format(time.RFC3339))
	if code != 0 || !strings.Contains(out, "LAST USED") {
		t.Fatalf("as-of: exit %d\n%s\n%s", code, out, errs)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " used ") == strings.HasSuffix(strings.TrimSpace(line), "never") && (strings.Contains(line, " used ") || strings.Contains(line, " idle ")) {
			t.Fatalf("the used key shows a last use, the idle one never:\n%s", out)
		}
	}
}
