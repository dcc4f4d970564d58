package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testproc"
)

// cliRun is one run of the keyplane binary as a client.
type cliRun struct {
	stdout, stderr string
	code           int
}

// terminal runs the same keyplane binary a test server runs, as a user's
// shell would: env holds KEYPLANE_* settings (nothing else of the test's
// KEYPLANE_ environment leaks in).
type terminal struct {
	t   *testing.T
	bin string
	env []string
	// url is the server's, through the checking proxy (startCLIServer).
	url string
}

func newTerminal(t *testing.T, env ...string) *terminal {
	t.Helper()
	bin, err := testproc.Build(testproc.KeyplanePkg)
	if err != nil {
		t.Fatal(err)
	}
	return &terminal{t: t, bin: bin, env: env}
}

func (tm *terminal) with(env ...string) *terminal {
	return &terminal{t: tm.t, bin: tm.bin, env: append(append([]string{}, tm.env...), env...)}
}

func (tm *terminal) run(args ...string) cliRun {
	tm.t.Helper()
	cmd := exec.Command(tm.bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYPLANE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, tm.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tm.t.Fatal(err)
	}
	return cliRun{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

// ok runs args and fails the test unless they exit 0.
func (tm *terminal) ok(args ...string) string {
	tm.t.Helper()
	r := tm.run(args...)
	if r.code != 0 {
		tm.t.Fatalf("keyplane %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs args with --output json and decodes the answer.
func (tm *terminal) okJSON(args ...string) map[string]any {
	tm.t.Helper()
	var out map[string]any
	raw := tm.ok(append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		tm.t.Fatalf("keyplane %s: not JSON: %v\n%s", strings.Join(args, " "), err, raw)
	}
	return out
}

// rows reads a table: its header row and the rest, split on spaces.
func rows(t *testing.T, table string) (header []string, body [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	for i, l := range lines {
		if i == 0 {
			header = strings.Fields(l)
		} else {
			body = append(body, strings.Fields(l))
		}
	}
	return header, body
}

// startCLIServer runs keyplane and a terminal logged in as its owner,
// whose requests pass a proxy that checks them and their answers against
// the OpenAPI document (testhttp.CheckingProxy).
func startCLIServer(t *testing.T) (*testproc.Replica, *terminal) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs keyplane as a child process")
	}
	srv := testproc.StartReplica(t, "keyplane", "--data-dir", t.TempDir())
	user, pw, _ := strings.Cut(testproc.Owner, ":")
	url := testhttp.CheckingProxy(t, srv.URL())
	tm := newTerminal(t, "KEYPLANE_URL="+url, "KEYPLANE_USER="+user, "KEYPLANE_PASSWORD="+pw)
	tm.url = url
	return srv, tm
}

// TestKeysCommandsManageAKeyOnTheRealServer: the built binary creates,
// lists, shows, updates, rotates and revokes a key on a running keyplane,
// and the server agrees at every step; the secret is printed by create and
// rotate only.
func TestKeysCommandsManageAKeyOnTheRealServer(t *testing.T) {
	srv, tm := startCLIServer(t)
	rd := filepath.Join(t.TempDir(), "roles.json")
	if err := os.WriteFile(rd, []byte(`{"reader":{"cluster":["monitor"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	created := tm.okJSON("keys", "create", "--name", "ci-deploy", "--expiration", "90d", "--role-descriptors", "@"+rd, "--metadata", `{"team":"a"}`)
	id, secret, encoded := created["id"].(string), created["api_key"].(string), created["encoded"].(string)
	if id == "" || secret == "" || encoded == "" {
		t.Fatalf("create answered %v", created)
	}
	if r := testhttp.Do(t, "GET", srv.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+encoded); r.Status != 200 {
		t.Fatalf("the created key does not authenticate: %d %s", r.Status, r.Raw)
	}

	list := tm.ok("keys", "list")
	header, body := rows(t, list)
	if strings.Join(header, " ") != strings.Join(keyHeader, " ") || len(body) != 1 || body[0][0] != id || body[0][1] != "ci-deploy" || body[0][2] != "active" {
		t.Fatalf("keys list:\n%s", list)
	}
	if _, none := rows(t, tm.ok("keys", "list", "--status", "invalidated")); len(none) != 0 {
		t.Fatalf("--status invalidated lists %v", none)
	}
	// Filters go to the server as its query parameters: the key was used
	// (whoami above), but the use is noted in memory and flushed later, so
	// it is still never used as far as the list knows.
	if _, never := rows(t, tm.ok("keys", "list", "--never-used")); len(never) != 1 || never[0][0] != id || never[0][9] != "never" {
		t.Fatalf("keys list --never-used: %v", never)
	}
	if _, one := rows(t, tm.ok("keys", "list", "--size", "1", "--sort", "name", "--name", "ci-*")); len(one) != 1 || one[0][0] != id {
		t.Fatalf("keys list --size 1: %v", one)
	}
	// A full page tells on stderr how to read the next; stdout stays the table.
	if r := tm.run("keys", "list", "--size", "1", "--sort", "name"); r.code != 0 || !strings.Contains(r.stderr, "more keys: add --cursor ") || strings.Contains(r.stdout, "cursor") {
		t.Fatalf("keys list of a full page: %+v", r)
	}
	shown := tm.okJSON("keys", "show", id)
	if md, _ := shown["metadata"].(map[string]any); md["team"] != "a" || shown["role_descriptors"] == nil {
		t.Fatalf("keys show: %v", shown)
	}
	tm.ok("keys", "update", id, "--metadata", `{"team":"b"}`)
	if md, _ := tm.okJSON("keys", "show", id)["metadata"].(map[string]any); md["team"] != "b" {
		t.Fatalf("after update, metadata %v", md)
	}
	for _, out := range []string{list, tm.ok("keys", "show", id), tm.ok("keys", "list", "--output", "json")} {
		if strings.Contains(out, secret) || strings.Contains(out, encoded) {
			t.Fatalf("the secret is printed outside create and rotate:\n%s", out)
		}
	}

	rot := tm.ok("keys", "rotate", id, "--grace", "0s", "--output", "csv")
	recs, err := csv.NewReader(strings.NewReader(rot)).ReadAll()
	if err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != "id,name,expiration,api_key,encoded" || recs[1][4] == "" {
		t.Fatalf("keys rotate --output csv: %v\n%s", err, rot)
	}
	next, nextEncoded := recs[1][0], recs[1][4]
	if r := testhttp.Do(t, "GET", srv.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+nextEncoded); r.Status != 200 {
		t.Fatalf("the successor does not authenticate: %d %s", r.Status, r.Raw)
	}
	// The successor holds only its role descriptors (monitor): listing
	// keys with it is the server's refusal, exit 1.
	bySuccessor := newTerminal(t, "KEYPLANE_URL="+tm.url, "KEYPLANE_API_KEY="+nextEncoded)
	if r := bySuccessor.run("keys", "list"); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "unauthorized") {
		t.Fatalf("listing with a monitor key: %+v", r)
	}
	// A key without descriptors, from the environment, holds its owner's role.
	otherKey := tm.okJSON("keys", "create", "--name", "other")
	other := otherKey["id"].(string)
	csvOut := tm.ok("keys", "create", "--name", "from-csv", "--output", "csv")
	if recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll(); err != nil || len(recs) != 2 || recs[1][1] != "from-csv" || recs[1][3] == "" {
		t.Fatalf("keys create --output csv: %v\n%s", err, csvOut)
	}
	byKey := newTerminal(t, "KEYPLANE_URL="+tm.url, "KEYPLANE_API_KEY="+otherKey["encoded"].(string))
	if _, b := rows(t, byKey.ok("keys", "list", "--status", "active", "--sort", "name")); len(b) != 3 || b[0][0] != next || b[2][0] != other {
		t.Fatalf("listed by a key: %v", b)
	}

	_, revoked := rows(t, tm.ok("keys", "revoke", next, other))
	if len(revoked) != 2 || revoked[0][1] != "revoked" || revoked[1][1] != "revoked" {
		t.Fatalf("keys revoke: %v", revoked)
	}
	if r := testhttp.Do(t, "GET", srv.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+nextEncoded); r.Status != 401 {
		t.Fatalf("a revoked key authenticates: %d", r.Status)
	}
	if _, again := rows(t, tm.ok("keys", "revoke", other)); again[0][1] != "already" {
		t.Fatalf("revoking again: %v", again)
	}
}

// TestClientExitCodes: a refusal by the server is exit 1 with its reason
// on stderr and nothing on stdout; a mistake in the command line is exit 2
// before anything is sent; -h on every command and `help keys` are exit 0
// with the usage on stdout.
func TestClientExitCodes(t *testing.T) {
	_, tm := startCLIServer(t)
	wrong := newTerminal(t, "KEYPLANE_URL="+tm.url, "KEYPLANE_USER=alice", "KEYPLANE_PASSWORD=nope")
	none := newTerminal(t)
	cases := []struct {
		name   string
		tm     *terminal
		args   []string
		code   int
		stderr string
	}{
		{"unknown key", tm, []string{"keys", "show", "no-such-key"}, 1, "api key [no-such-key] not found"},
		{"revoking unknown keys", tm, []string{"keys", "revoke", "no-such-1", "no-such-2"}, 1, "api key [no-such-1] not found; api key [no-such-2] not found"},
		{"unknown organization", tm, []string{"keys", "list", "--org", "nope"}, 1, "organization [nope] not found"},
		{"filter the server refuses", tm, []string{"keys", "list", "--status", "bogus"}, 1, "status must be active, expired or invalidated"},
		{"expiration the server refuses", tm, []string{"keys", "create", "--name", "x", "--expiration", "soon"}, 1, "expiration"},
		{"wrong password", wrong, []string{"orgs", "list"}, 1, "HTTP 401"},
		{"no server", none.with("KEYPLANE_URL=http://127.0.0.1:1"), []string{"keys", "list"}, 1, "connection refused"},
		{"--url beats KEYPLANE_URL", none.with("KEYPLANE_URL=" + tm.url), []string{"keys", "list", "--url", "http://127.0.0.1:1"}, 1, "connection refused"},
		{"create without --name", tm, []string{"keys", "create"}, 2, "--name is required"},
		{"metadata not JSON", tm, []string{"keys", "create", "--name", "x", "--metadata", "{team"}, 2, "--metadata is not JSON"},
		{"missing @file", tm, []string{"keys", "create", "--name", "x", "--role-descriptors", "@/nonexistent.json"}, 2, "--role-descriptors"},
		{"csv where only table and json", tm, []string{"keys", "list", "--output", "csv"}, 2, "--output must be one of table, json"},
		{"unknown flag", tm, []string{"keys", "list", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"show without an id", tm, []string{"keys", "show"}, 2, "missing argument"},
		{"show with two ids", tm, []string{"keys", "show", "a", "b"}, 2, `unexpected argument "b"`},
		{"update with nothing to change", tm, []string{"keys", "update", "a"}, 2, "nothing to update"},
		{"unknown verb", tm, []string{"keys", "bogus"}, 2, `unknown command "bogus"`},
		{"members create without a role", tm, []string{"members", "create", "--email", "a@example.com"}, 2, "--email and --role are required"},
		{"help on an unknown topic", tm, []string{"help", "bogus"}, 2, "no help"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.tm.run(c.args...)
			if r.code != c.code || r.stdout != "" || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("keyplane %s: exit %d (want %d), stdout %q, stderr %q (want %q)", strings.Join(c.args, " "), r.code, c.code, r.stdout, r.stderr, c.stderr)
			}
		})
	}
	helps := [][]string{{"help", "keys"}, {"keys", "-h"}, {"orgs", "--help"}, {"projects", "-h"}, {"members", "-h"}, {"help", "members"}}
	for verb := range keyVerbs {
		helps = append(helps, []string{"keys", verb, "-h"})
	}
	for _, noun := range []string{"orgs", "projects", "members"} {
		helps = append(helps, []string{noun, "list", "-h"}, []string{noun, "create", "-h"})
	}
	for _, args := range helps {
		if r := tm.run(args...); r.code != 0 || !strings.Contains(r.stdout, "usage: keyplane") || r.stderr != "" {
			t.Errorf("keyplane %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// TestOrgsProjectsMembersCommandsOnTheRealServer: an organization, a
// project and an invited member made with the client; the invitation's
// token it prints is the one the invitee accepts.
func TestOrgsProjectsMembersCommandsOnTheRealServer(t *testing.T) {
	srv, tm := startCLIServer(t)
	tm.ok("orgs", "create", "--name", "acme")
	if _, b := rows(t, tm.ok("orgs", "list")); len(b) != 2 || b[0][1] != "default" && b[1][1] != "default" {
		t.Fatalf("orgs list: %v", b)
	}
	tm.ok("projects", "create", "--org", "acme", "--name", "web")
	header, b := rows(t, tm.ok("projects", "list", "--org", "acme"))
	if strings.Join(header, " ") != "ID NAME CREATED" || len(b) != 1 || b[0][1] != "web" {
		t.Fatalf("projects list: %v %v", header, b)
	}
	pk := tm.okJSON("keys", "create", "--org", "acme", "--project", "web", "--name", "svc")
	if _, b := rows(t, tm.ok("keys", "list", "--org", "acme", "--scope", "project")); len(b) != 1 || b[0][0] != pk["id"] || b[0][3] != "project" {
		t.Fatalf("project keys: %v", b)
	}

	header, b = rows(t, tm.ok("members", "create", "--org", "acme", "--email", "bob@example.com", "--role", "admin"))
	if strings.Join(header, " ") != "ID EMAIL ROLE EXPIRES TOKEN" || len(b) != 1 || len(b[0]) != 5 {
		t.Fatalf("members create: %v %v", header, b)
	}
	acc := testhttp.Do(t, "POST", srv.URL()+"/api/v1/invitations/_accept",
		map[string]any{"token": b[0][4], "name": "bob", "password": "bob-password-1"}, "Content-Type", "application/json")
	if acc.Status != 200 {
		t.Fatalf("accepting the printed token: %d %s", acc.Status, acc.Raw)
	}
	_, b = rows(t, tm.ok("members", "list", "--org", "acme"))
	if len(b) != 2 || b[1][0] != "bob" || b[1][1] != "bob@example.com" || b[1][2] != "admin" {
		t.Fatalf("members list: %v", b)
	}
	bob := newTerminal(t, "KEYPLANE_URL="+tm.url, "KEYPLANE_USER=bob", "KEYPLANE_PASSWORD=bob-password-1")
	if _, b := rows(t, bob.ok("orgs", "list")); len(b) != 1 || b[0][1] != "acme" || b[0][2] != "admin" {
		t.Fatalf("bob's orgs: %v", b)
	}
}
