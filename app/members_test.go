package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/internal/testwait"
)

// twoReplicas runs two keyplanes on one log: a embeds the NATS server, b
// connects to it; each tweak adjusts both configurations.
func twoReplicas(t testing.TB, now func() time.Time, tweak ...func(*Config)) (a, b *App) {
	t.Helper()
	natsAddr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePorts(t, 1)[0])
	start := func(cfg Config) *App {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cfg.Addr, cfg.BootstrapOwner, cfg.NeverAllowed, cfg.Now = "127.0.0.1:0", ownerAuth, true, now
		cfg.Logger, cfg.Out = slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard
		for _, f := range tweak {
			f(&cfg)
		}
		x, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(x.Close)
		return x
	}
	a = start(Config{DataDir: t.TempDir(), NatsListen: natsAddr})
	b = start(Config{DataDir: t.TempDir(), NatsURL: "nats://" + natsAddr})
	return a, b
}

// consoleSession is a logged-in browser: its cookie and CSRF token.
type consoleSession struct{ cookie, csrf string }

// consoleLogin logs name in on the replica at base.
func consoleLogin(t *testing.T, base, name, password string) consoleSession {
	t.Helper()
	r := testhttp.Do(t, "POST", base+"/console/login", map[string]any{"name": name, "password": password}, "Content-Type", "application/json")
	if r.Status != 200 {
		t.Fatalf("login of %s: %d %s", name, r.Status, r.Raw)
	}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "keyplane_session" {
			tok, _ := r.Body["csrf_token"].(string)
			return consoleSession{cookie: "keyplane_session=" + c.Value, csrf: tok}
		}
	}
	t.Fatalf("login of %s set no session cookie", name)
	return consoleSession{}
}

// do sends a request with the session to the replica at base.
func (s consoleSession) do(t *testing.T, base, method, path string, body any) testhttp.Response {
	t.Helper()
	return testhttp.Do(t, method, base+path, body, "Cookie", s.cookie, "X-CSRF-Token", s.csrf, "Content-Type", "application/json")
}

// eventually polls cond until the deadline: another replica folds the log
// a moment later.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, what, cond)
}

func projectID(t *testing.T, c *client, org, name string) string {
	t.Helper()
	for _, p := range c.do("GET", "/api/v1/orgs/"+org+"/projects", nil).must(t, 200).body["projects"].([]any) {
		if m := p.(map[string]any); m["name"] == name {
			return m["id"].(string)
		}
	}
	t.Fatalf("no project %s in %s", name, org)
	return ""
}

func TestRemovedMemberLosesSessionsOnEveryReplicaAndKeysEverywhere(t *testing.T) {
	a, b := twoReplicas(t, nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	pid := projectID(t, alice, "default", "default")
	bobBasic := a.as(t, basic("bob:bob-password"))
	_, orgKey := bobBasic.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "bob-org"})
	_, projKey := bobBasic.createKey("/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "bob-project"})
	eventually(t, "bob on replica b", func() bool {
		return b.as(t, basic("bob:bob-password")).do("GET", "/api/v1/orgs/default", nil).status == 200
	})
	onB := consoleLogin(t, b.URL(), "bob", "bob-password")
	onB.do(t, b.URL(), "GET", "/api/v1/orgs/default/api-keys", nil)
	if r := onB.do(t, b.URL(), "GET", "/api/v1/orgs/default/members", nil); r.Status != 200 {
		t.Fatalf("bob's session before removal: %d %s", r.Status, r.Raw)
	}
	esKeys := "/projects/" + pid + "/_security/api_key"
	for _, x := range []*App{a, b} {
		eventually(t, "bob's keys work before removal", func() bool {
			return x.as(t, apiKey(orgKey)).do("GET", "/api/v1/orgs/default/api-keys", nil).status == 200 &&
				x.as(t, apiKey(projKey)).do("GET", esKeys, nil).status == 200
		})
	}

	alice.do("DELETE", "/api/v1/orgs/default/members/bob", nil).must(t, 200)

	eventually(t, "bob's session refused on replica b", func() bool {
		return onB.do(t, b.URL(), "GET", "/api/v1/orgs/default/members", nil).Status == 401
	})
	for _, x := range []*App{a, b} {
		eventually(t, "bob's keys refused", func() bool {
			return x.as(t, apiKey(orgKey)).do("GET", "/api/v1/orgs/default/api-keys", nil).status == 403 &&
				x.as(t, apiKey(projKey)).do("GET", esKeys, nil).status == 403 &&
				x.as(t, apiKey(projKey)).do("GET", "/api/v1/orgs/default/projects/default/api-keys", nil).status == 403
		})
		x.as(t, basic("bob:bob-password")).do("GET", "/api/v1/orgs/default", nil).must(t, 404)
	}
	members := alice.do("GET", "/api/v1/orgs/default/members", nil).must(t, 200)
	if strings.Contains(members.raw, `"bob"`) {
		t.Fatalf("bob still listed: %s", members.raw)
	}
	// The audit trail says who removed whom.
	trail := alice.do("GET", "/api/v1/orgs/default/audit?type=MemberRemoved", nil).must(t, 200)
	entries := trail.body["entries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("audit: %s", trail.raw)
	}
	e := entries[0].(map[string]any)
	actor, change := e["actor"].(map[string]any), e["change"].(map[string]any)
	if actor["id"] != "alice" || change["user"] != "bob" || change["role"] != "admin" {
		t.Fatalf("audit entry of the removal: %v", e)
	}
}

func TestOnlyOwnersTouchOwnersAndTheLastOwnerStays(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "ada", "admin")
	a.addMember(t, ownerAuth, "default", "vic", "viewer")
	ada := a.as(t, basic("ada:ada-password"))
	_, adaKey := ada.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "ada-key"})
	members := "/api/v1/orgs/default/members/"
	for _, c := range []*client{ada, a.as(t, apiKey(adaKey))} {
		c.do("DELETE", members+"alice", nil).must(t, 403)
		c.do("PUT", members+"alice", map[string]any{"role": "viewer"}).must(t, 403)
		c.do("PUT", members+"ada", map[string]any{"role": "owner"}).must(t, 403)
		c.do("POST", "/api/v1/orgs/default/invitations", map[string]any{"email": "o@example.com", "role": "owner"}).must(t, 403)
		c.do("POST", members+"alice/_force_password_reset", nil).must(t, 403)
	}
	// The last owner can be neither removed nor demoted, even by herself.
	alice.do("DELETE", members+"alice", nil).must(t, 409)
	alice.do("PUT", members+"alice", map[string]any{"role": "admin"}).must(t, 409)
	a.as(t, basic("vic:vic-password")).do("DELETE", members+"ada", nil).must(t, 403)
	alice.do("DELETE", members+"nobody", nil).must(t, 404)
	alice.do("PUT", members+"vic", map[string]any{"role": "god"}).must(t, 400)

	// A demotion ends the member's sessions.
	s := consoleLogin(t, a.URL(), "ada", "ada-password")
	s.do(t, a.URL(), "GET", "/api/v1/orgs/default/members", nil)
	ada.do("PUT", members+"vic", map[string]any{"role": "admin"}).must(t, 200)
	alice.do("PUT", members+"ada", map[string]any{"role": "viewer"}).must(t, 200)
	if r := s.do(t, a.URL(), "GET", "/api/v1/orgs/default/members", nil); r.Status != 401 {
		t.Fatalf("demoted ada's session: %d %s", r.Status, r.Raw)
	}
	ada.do("DELETE", members+"vic", nil).must(t, 403)
	// With a second owner, an owner may step down.
	alice.do("PUT", members+"vic", map[string]any{"role": "owner"}).must(t, 200)
	alice.do("PUT", members+"alice", map[string]any{"role": "admin"}).must(t, 200)
	a.as(t, basic("vic:vic-password")).do("DELETE", members+"vic", nil).must(t, 409)
}

func TestAnInvitationIsAcceptedOnceByAnExistingOrANewLogin(t *testing.T) {
	c := testclock.New(time.Now())
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "other"}).must(t, 201)
	inv := alice.do("POST", "/api/v1/orgs/other/invitations", map[string]any{"email": "bob@corp.example", "role": "admin"}).must(t, 201)
	token := inv.str("token")
	if !strings.HasPrefix(token, "kpinv_") || inv.str("id") == "" || inv.str("email") != "bob@corp.example" || inv.str("role") != "admin" {
		t.Fatalf("invitation: %s", inv.raw)
	}
	pending := alice.do("GET", "/api/v1/orgs/other/invitations", nil).must(t, 200)
	if strings.Contains(pending.raw, token) || !strings.Contains(pending.raw, "bob@corp.example") {
		t.Fatalf("pending invitations: %s", pending.raw)
	}
	accept := "/api/v1/invitations/_accept"
	bob := a.as(t, basic("bob:bob-password"))
	bob.do("GET", "/api/v1/orgs/other", nil).must(t, 404)
	// An API key accepts nothing.
	_, bobKey := bob.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "k"})
	a.as(t, apiKey(bobKey)).do("POST", accept, map[string]any{"token": token}).must(t, 403)
	bob.do("POST", accept, map[string]any{"token": token}).must(t, 200)
	if r := bob.do("GET", "/api/v1/orgs/other", nil).must(t, 200); r.str("role") != "admin" {
		t.Fatalf("bob in other: %s", r.raw)
	}
	// Single use.
	bob.do("POST", accept, map[string]any{"token": token}).must(t, 404)
	a.as(t, "").do("POST", accept, map[string]any{"token": token, "name": "eve", "password": "eve-password"}).must(t, 404)
	a.as(t, basic("eve:eve-password")).do("GET", "/api/v1/whoami", nil).must(t, 401)

	// A new login: the invitee's own name and password.
	inv2 := alice.do("POST", "/api/v1/orgs/other/invitations", map[string]any{"email": "cy@corp.example", "role": "viewer"}).must(t, 201)
	a.as(t, "").do("POST", accept, map[string]any{"token": inv2.str("token"), "name": "cy", "password": "cy-password"}).must(t, 200)
	if r := a.as(t, basic("cy:cy-password")).do("GET", "/api/v1/orgs/other", nil).must(t, 200); r.str("role") != "viewer" {
		t.Fatalf("cy in other: %s", r.raw)
	}
	// Revoked and expired invitations are gone, with the same answer as an
	// unknown token.
	inv3 := alice.do("POST", "/api/v1/orgs/other/invitations", map[string]any{"email": "d@corp.example", "role": "viewer"}).must(t, 201)
	alice.do("DELETE", "/api/v1/orgs/other/invitations/"+inv3.str("id"), nil).must(t, 200)
	inv4 := alice.do("POST", "/api/v1/orgs/other/invitations", map[string]any{"email": "e@corp.example", "role": "viewer"}).must(t, 201)
	c.Add(7*24*time.Hour + time.Second)
	var answers []string
	for _, tok := range []string{inv3.str("token"), inv4.str("token"), "kpinv_nosuchtoken"} {
		r := a.as(t, "").do("POST", accept, map[string]any{"token": tok, "name": "dee", "password": "dee-password"}).must(t, 404)
		answers = append(answers, r.body["error"].(map[string]any)["reason"].(string))
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Fatalf("answers differ: %q", answers)
	}
	if r := alice.do("GET", "/api/v1/orgs/other/invitations", nil).must(t, 200); strings.Contains(r.raw, "@corp.example") {
		t.Fatalf("expired or revoked invitations listed: %s", r.raw)
	}
}

func TestLoginSquattingIsImpossible(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	// Mallory owns evilcorp and makes herself a login named jane.
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "evilcorp"}).must(t, 201)
	a.addMember(t, ownerAuth, "evilcorp", "mallory", "owner")
	testhttp.AddMember(t, a.URL(), basic("mallory:mallory-password"), "evilcorp",
		testhttp.Member{Name: "jane", Password: "mallory-owns-jane", Role: "viewer", Email: "mallory@evil.example"})
	alice.do("DELETE", "/api/v1/orgs/evilcorp/members/alice", nil).must(t, 200)

	// Adding "jane" by name is refused alike whether or not the name exists.
	old := alice.do("POST", "/api/v1/orgs/default/members", map[string]any{"name": "jane", "password": "jane-password", "role": "admin"}).must(t, 400)
	none := alice.do("POST", "/api/v1/orgs/default/members", map[string]any{"name": "nosuchlogin", "password": "x", "role": "admin"}).must(t, 400)
	if old.body["error"].(map[string]any)["reason"] != none.body["error"].(map[string]any)["reason"] {
		t.Fatalf("answers differ: %s / %s", old.raw, none.raw)
	}
	// The invitation goes to an address; nothing binds mallory's jane.
	inv := alice.do("POST", "/api/v1/orgs/default/members", map[string]any{"email": "jane@corp.example", "role": "admin"}).must(t, 201)
	a.as(t, basic("jane:mallory-owns-jane")).do("GET", "/api/v1/orgs/default", nil).must(t, 404)
	// The real jane picks her own login; the taken name is hers to avoid.
	accept := "/api/v1/invitations/_accept"
	a.as(t, "").do("POST", accept, map[string]any{"token": inv.str("token"), "name": "jane", "password": "jane-real-pw"}).must(t, 409)
	a.as(t, "").do("POST", accept, map[string]any{"token": inv.str("token"), "name": "jane.doe", "password": "jane-real-pw"}).must(t, 200)
	a.as(t, basic("jane:mallory-owns-jane")).do("GET", "/api/v1/orgs/default", nil).must(t, 404)
	members := alice.do("GET", "/api/v1/orgs/default/members", nil).must(t, 200)
	if strings.Contains(members.raw, "evil.example") || !strings.Contains(members.raw, "jane@corp.example") || strings.Contains(members.raw, `"jane"`) {
		t.Fatalf("members of default: %s", members.raw)
	}
}

func TestPasswordChangeEndsOtherSessionsOnEveryReplica(t *testing.T) {
	a, b := twoReplicas(t, nil)
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	eventually(t, "bob on replica b", func() bool {
		return b.as(t, basic("bob:bob-password")).do("GET", "/api/v1/orgs/default", nil).status == 200
	})
	onA := consoleLogin(t, a.URL(), "bob", "bob-password")
	onB := consoleLogin(t, b.URL(), "bob", "bob-password")
	pw := "/api/v1/users/_password"
	_, key := a.as(t, basic("bob:bob-password")).createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "k"})
	a.as(t, apiKey(key)).do("PUT", pw, map[string]any{"current_password": "bob-password", "password": "by-a-key-pw"}).must(t, 403)
	if r := onA.do(t, a.URL(), "PUT", pw, map[string]any{"current_password": "wrong-password", "password": "bob-new-password"}); r.Status != 403 {
		t.Fatalf("wrong current password: %d %s", r.Status, r.Raw)
	}
	r := onA.do(t, a.URL(), "PUT", pw, map[string]any{"current_password": "bob-password", "password": "bob-new-password"})
	if r.Status != 200 {
		t.Fatalf("password change: %d %s", r.Status, r.Raw)
	}
	// The session that changed it goes on under a new cookie.
	var renewed consoleSession
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "keyplane_session" {
			renewed = consoleSession{cookie: "keyplane_session=" + c.Value, csrf: r.Body["session"].(map[string]any)["csrf_token"].(string)}
		}
	}
	if got := renewed.do(t, b.URL(), "GET", "/api/v1/whoami", nil); got.Status != 200 {
		eventually(t, "the renewed session on replica b", func() bool { return renewed.do(t, b.URL(), "GET", "/api/v1/whoami", nil).Status == 200 })
	}
	eventually(t, "bob's other session refused on replica b", func() bool {
		return onB.do(t, b.URL(), "GET", "/api/v1/whoami", nil).Status == 401
	})
	b.as(t, basic("bob:bob-password")).do("GET", "/api/v1/whoami", nil).must(t, 401)
	b.as(t, basic("bob:bob-new-password")).do("GET", "/api/v1/whoami", nil).must(t, 200)
}

func TestAForcedResetAllowsOnlyThePasswordChange(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	a.addMember(t, ownerAuth, "default", "ada", "admin")
	s := consoleLogin(t, a.URL(), "bob", "bob-password")
	a.as(t, basic("ada:ada-password")).do("POST", "/api/v1/orgs/default/members/bob/_force_password_reset", nil).must(t, 403)
	alice.do("POST", "/api/v1/orgs/default/members/bob/_force_password_reset", nil).must(t, 200)
	alice.do("POST", "/api/v1/orgs/default/members/nobody/_force_password_reset", nil).must(t, 404)

	if r := s.do(t, a.URL(), "GET", "/api/v1/whoami", nil); r.Status != 401 {
		t.Fatalf("bob's session after the reset: %d %s", r.Status, r.Raw)
	}
	bob := a.as(t, basic("bob:bob-password"))
	r := bob.do("GET", "/api/v1/orgs/default", nil).must(t, 403)
	if !strings.Contains(r.raw, "must change its password") {
		t.Fatalf("reason: %s", r.raw)
	}
	pid := projectID(t, alice, "default", "default")
	bob.do("GET", "/projects/"+pid+"/_security/_authenticate", nil).must(t, 403)
	login := testhttp.Do(t, "POST", a.URL()+"/console/login", map[string]any{"name": "bob", "password": "bob-password"}, "Content-Type", "application/json")
	if login.Status != 403 {
		t.Fatalf("console login under a forced reset: %d %s", login.Status, login.Raw)
	}
	bob.do("PUT", "/api/v1/users/_password", map[string]any{"current_password": "bob-password", "password": "bob-chosen-pw"}).must(t, 200)
	a.as(t, basic("bob:bob-chosen-pw")).do("GET", "/api/v1/orgs/default", nil).must(t, 200)
	bob.do("GET", "/api/v1/orgs/default", nil).must(t, 401)
}

// A demotion and a forced reset end the member's console sessions on
// every replica, not only the one that took the command.
func TestDemotionAndForcedResetEndSessionsOnEveryReplica(t *testing.T) {
	a, b := twoReplicas(t, nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "ada", "admin")
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	for _, name := range []string{"ada", "bob"} {
		eventually(t, name+" on replica b", func() bool {
			return b.as(t, basic(name+":"+name+"-password")).do("GET", "/api/v1/orgs/default", nil).status == 200
		})
	}
	ada := consoleLogin(t, b.URL(), "ada", "ada-password")
	bob := consoleLogin(t, b.URL(), "bob", "bob-password")
	for _, s := range []consoleSession{ada, bob} {
		if r := s.do(t, b.URL(), "GET", "/api/v1/orgs/default/members", nil); r.Status != 200 {
			t.Fatalf("a session on replica b before: %d %s", r.Status, r.Raw)
		}
	}
	alice.do("PUT", "/api/v1/orgs/default/members/ada", map[string]any{"role": "viewer"}).must(t, 200)
	alice.do("POST", "/api/v1/orgs/default/members/bob/_force_password_reset", nil).must(t, 200)
	eventually(t, "the demoted member's session refused on replica b", func() bool {
		return ada.do(t, b.URL(), "GET", "/api/v1/orgs/default/members", nil).Status == 401
	})
	eventually(t, "the session of a member under a forced reset refused on replica b", func() bool {
		return bob.do(t, b.URL(), "GET", "/api/v1/orgs/default/members", nil).Status == 401
	})
}
