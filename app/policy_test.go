package app

import (
	"strings"
	"testing"
)

const policyPath = "/api/v1/orgs/default/policy"

// example is the policy.
var examplePolicy = map[string]any{"default_expiration": "90d", "max_expiration": "365d", "allow_never": false,
	"max_active_keys": 500, "max_grace": "7d"}

func TestOnlyOwnersSetThePolicyAndEveryMemberReadsIt(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "adam", "admin")
	a.addMember(t, ownerAuth, "default", "vera", "viewer")
	admin, viewer := a.as(t, basic("adam:adam-password")), a.as(t, basic("vera:vera-password"))

	// Unset, every field is null and the defaults are today's.
	got := viewer.do("GET", policyPath, nil).must(t, 200)
	for _, f := range []string{"default_expiration", "max_expiration", "allow_never", "max_active_keys", "max_grace"} {
		if v, ok := got.body[f]; !ok || v != nil {
			t.Fatalf("unset %s: %s", f, got.raw)
		}
	}
	eff := got.body["effective"].(map[string]any)
	if d := eff["default_expiration"].(map[string]any); d["console"] != "90d" || d["elasticsearch"] != "never" || eff["allow_never"] != true {
		t.Fatalf("effective without a policy: %s", got.raw)
	}

	admin.do("PUT", policyPath, examplePolicy).must(t, 403)
	viewer.do("PUT", policyPath, examplePolicy).must(t, 403)
	// A key of the owner acts with the owner's role.
	_, ownerKey := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "owner-key"})
	a.as(t, apiKey(ownerKey)).do("PUT", policyPath, map[string]any{"max_grace": "1d"}).must(t, 200)

	put := alice.do("PUT", policyPath, examplePolicy).must(t, 200)
	for f, want := range examplePolicy {
		if g := put.body[f]; g != want && !(f == "max_active_keys" && g == float64(500)) {
			t.Fatalf("%s = %v, want %v: %s", f, g, want, put.raw)
		}
	}
	for _, c := range []*client{alice, admin, viewer, a.as(t, apiKey(ownerKey))} {
		if r := c.do("GET", policyPath, nil).must(t, 200); r.body["max_expiration"] != "365d" {
			t.Fatalf("read back: %s", r.raw)
		}
	}
	// PUT replaces the whole policy: what it leaves out is unset.
	again := alice.do("PUT", policyPath, map[string]any{"max_expiration": "30d", "max_active_keys": nil}).must(t, 200)
	if again.body["default_expiration"] != nil || again.body["max_active_keys"] != nil || again.body["max_expiration"] != "30d" {
		t.Fatalf("replaced: %s", again.raw)
	}
}

func TestABadPolicyIsRefusedWithItsReason(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	for _, tt := range []struct {
		body   any
		reason string
	}{
		{map[string]any{"default_expiration": "400d", "max_expiration": "365d"}, "beyond [max_expiration]"},
		{map[string]any{"max_expiration": "10m"}, "from 1h to 100y"},
		{map[string]any{"max_expiration": "soon"}, "[max_expiration] must be a duration"},
		{map[string]any{"default_expiration": "never", "allow_never": false}, "cannot be never"},
		{map[string]any{"max_active_keys": 0}, "[max_active_keys] must be an integer from 1"},
		{map[string]any{"max_active_keys": "many"}, "max_active_keys"},
		{map[string]any{"max_grace": "2y"}, "[max_grace]"},
		{map[string]any{"allow_never": "no"}, "allow_never"},
		{map[string]any{"max_keys": 5}, "unknown field"},
		{nil, "request body is required"},
	} {
		r := alice.do("PUT", policyPath, tt.body).must(t, 400)
		if !strings.Contains(r.raw, tt.reason) || !strings.Contains(r.raw, `"status":400`) {
			t.Errorf("%v: %s, want a reason naming %q", tt.body, r.raw, tt.reason)
		}
	}
	if r := alice.do("GET", policyPath, nil).must(t, 200); r.body["max_expiration"] != nil {
		t.Fatalf("a refused policy was set: %s", r.raw)
	}
}

func TestAServerWithoutNeverIsThePolicysCeiling(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.NeverAllowed = false })
	alice := a.as(t, basic(ownerAuth))
	r := alice.do("PUT", policyPath, map[string]any{"allow_never": true}).must(t, 400)
	if !strings.Contains(r.raw, "--allow-never-expiring=false") {
		t.Fatalf("reason: %s", r.raw)
	}
	got := alice.do("GET", policyPath, nil).must(t, 200)
	eff := got.body["effective"].(map[string]any)
	if eff["allow_never"] != false || eff["default_expiration"].(map[string]any)["elasticsearch"] != "90d" {
		t.Fatalf("effective: %s", got.raw)
	}
	alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "n", "expiration": "never"}).must(t, 400)
}

func TestAnotherOrganizationsPolicyIsNeverVisible(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "viewer")
	bob := a.as(t, basic("bob:bob-password"))
	bob.do("POST", "/api/v1/orgs", map[string]any{"name": "bobco"}).must(t, 201)
	bob.do("PUT", "/api/v1/orgs/bobco/policy", map[string]any{"max_expiration": "7d"}).must(t, 200)
	_, bobKey := bob.createKey("/api/v1/orgs/bobco/api-keys", map[string]any{"name": "bob-key"})

	for _, r := range []resp{
		alice.do("GET", "/api/v1/orgs/bobco/policy", nil),
		alice.do("PUT", "/api/v1/orgs/bobco/policy", examplePolicy),
		a.as(t, apiKey(bobKey)).do("GET", policyPath, nil),
		a.as(t, apiKey(bobKey)).do("PUT", policyPath, examplePolicy),
	} {
		if r.status != 404 || strings.Contains(r.raw, "7d") {
			t.Fatalf("another organization's policy: %d %s", r.status, r.raw)
		}
	}
	// Bob's policy binds bobco's keys only.
	alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "long", "expiration": "300d"}).must(t, 201)
	bob.do("POST", "/api/v1/orgs/bobco/api-keys", map[string]any{"name": "long", "expiration": "300d"}).must(t, 400)
}

func TestAPolicyChangeIsInTheAuditTrail(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	alice.do("PUT", policyPath, examplePolicy).must(t, 200)
	trail := alice.do("GET", "/api/v1/orgs/default/audit?type=KeyPolicySet", nil).must(t, 200)
	entries := trail.body["entries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("audit: %s", trail.raw)
	}
	e := entries[0].(map[string]any)
	pol := e["change"].(map[string]any)["policy"].(map[string]any)
	if e["actor"].(map[string]any)["id"] != "alice" || pol["max_expiration"] != "365d" || pol["allow_never"] != false || pol["max_active_keys"] != float64(500) {
		t.Fatalf("audit entry: %v", e)
	}
}
