package app

import (
	"strconv"
	"strings"
	"testing"
	"time"
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

// policyApp is keyplane at a fixed time, its owner by password, and the
// default project's Elasticsearch surface.
type policyApp struct {
	*App
	now   time.Time
	alice *client
	es    string
}

func startPolicyApp(t *testing.T) policyApp {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	a := startApp(t, t.TempDir(), func() time.Time { return now })
	alice := a.as(t, basic(ownerAuth))
	return policyApp{App: a, now: now, alice: alice, es: "/projects/" + projectID(t, alice, "default", "default") + "/_security"}
}

// inDays is the expiration (ms) of a key created now that lives n days.
func (pa policyApp) inDays(n int) float64 {
	return float64(pa.now.Add(time.Duration(n) * 24 * time.Hour).UnixMilli())
}

func TestAMissingExpirationTakesThePolicyDefaultOnBothSurfaces(t *testing.T) {
	pa := startPolicyApp(t)
	// Before a policy: three months on the console, never on Elasticsearch.
	if r := pa.alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "c0"}).must(t, 201); r.body["expiration"] != pa.inDays(90) {
		t.Fatalf("console default: %s", r.raw)
	}
	if r := pa.alice.do("POST", pa.es+"/api_key", map[string]any{"name": "e0"}).must(t, 200); r.body["expiration"] != nil {
		t.Fatalf("Elasticsearch default: %s", r.raw)
	}
	pa.alice.do("PUT", policyPath, map[string]any{"default_expiration": "30d"}).must(t, 200)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/orgs/default/api-keys", 201},
		{"/api/v1/orgs/default/projects/default/api-keys", 201},
		{pa.es + "/api_key", 200},
	} {
		if r := pa.alice.do("POST", c.path, map[string]any{"name": "k"}).must(t, c.status); r.body["expiration"] != pa.inDays(30) {
			t.Fatalf("%s: %s", c.path, r.raw)
		}
	}
	grant := map[string]any{"grant_type": "password", "username": "alice", "password": "alice-password"}
	grant["api_key"] = map[string]any{"name": "granted"}
	if r := pa.alice.do("POST", pa.es+"/api_key/grant", grant).must(t, 200); r.body["expiration"] != pa.inDays(30) {
		t.Fatalf("grant: %s", r.raw)
	}
	delete(grant, "api_key")
	grant["api_keys"] = []any{map[string]any{"name": "b1"}, map[string]any{"name": "b2", "expiration": "2d"}}
	r := pa.alice.do("POST", pa.es+"/api_key/_bulk_grant", grant).must(t, 200)
	created := r.body["created"].([]any)
	if created[0].(map[string]any)["expiration"] != pa.inDays(30) || created[1].(map[string]any)["expiration"] != pa.inDays(2) {
		t.Fatalf("bulk grant: %s", r.raw)
	}
}

func TestAnExpirationPastThePolicyIsRefusedOnEveryPath(t *testing.T) {
	pa := startPolicyApp(t)
	orgKeys, esKeys := "/api/v1/orgs/default/api-keys", pa.es+"/api_key"
	consoleID, _ := pa.alice.createKey(orgKeys, map[string]any{"name": "before", "expiration": "10d"})
	esID := pa.alice.do("POST", esKeys, map[string]any{"name": "es-before"}).must(t, 200).str("id")
	pa.alice.do("PUT", policyPath, map[string]any{"max_expiration": "60d", "allow_never": false}).must(t, 200)

	grant := func(exp string) map[string]any {
		return map[string]any{"grant_type": "password", "username": "alice", "password": "alice-password",
			"api_key": map[string]any{"name": "g", "expiration": exp}}
	}
	bulkGrant := func(exp string) map[string]any {
		return map[string]any{"grant_type": "password", "username": "alice", "password": "alice-password",
			"api_keys": []any{map[string]any{"name": "ok", "expiration": "1d"}, map[string]any{"name": "g", "expiration": exp}}}
	}
	for _, exp := range []struct{ value, limit string }{{"61d", "max_expiration"}, {"2027-12-06T12:00:00Z", "max_expiration"}, {"never", "allow_never: false"}} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"POST", orgKeys, map[string]any{"name": "k", "expiration": exp.value}},
			{"POST", "/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "k", "expiration": exp.value}},
			{"PUT", orgKeys + "/" + consoleID, map[string]any{"expiration": exp.value}},
			{"POST", esKeys, map[string]any{"name": "k", "expiration": exp.value}},
			{"PUT", esKeys + "/" + esID, map[string]any{"expiration": exp.value}},
			{"POST", esKeys + "/grant", grant(exp.value)},
			{"POST", esKeys + "/_bulk_grant", bulkGrant(exp.value)},
		} {
			r := pa.alice.do(req.method, req.path, req.body).must(t, 400)
			if !strings.Contains(r.raw, exp.limit) || !strings.Contains(r.raw, `"type":"`) {
				t.Errorf("%s %s %s: %s, want a reason naming %s", req.method, req.path, exp.value, r.raw, exp.limit)
			}
		}
		// Bulk update answers per key, as Elasticsearch does.
		r := pa.alice.do("POST", esKeys+"/_bulk_update", map[string]any{"ids": []string{esID}, "expiration": exp.value}).must(t, 200)
		if !strings.Contains(r.raw, exp.limit) || len(r.body["updated"].([]any)) != 0 {
			t.Errorf("bulk update %s: %s", exp.value, r.raw)
		}
	}
	// Within the policy, every path works.
	pa.alice.do("PUT", orgKeys+"/"+consoleID, map[string]any{"expiration": "60d"}).must(t, 200)
	pa.alice.do("PUT", esKeys+"/"+esID, map[string]any{"expiration": "59d"}).must(t, 200)
	pa.alice.do("POST", esKeys+"/_bulk_update", map[string]any{"ids": []string{esID}, "expiration": "58d"}).must(t, 200)
	pa.alice.do("POST", esKeys, map[string]any{"name": "fine", "expiration": "60d"}).must(t, 200)
	// An update that leaves the expiration alone is not asked to keep to
	// it: the Elasticsearch key made before the policy never expires.
	pa.alice.do("PUT", esKeys+"/"+esID, map[string]any{"metadata": map[string]any{"a": 1}}).must(t, 200)
}

func TestACreatePastMaxActiveKeysIsAConflictOnBothSurfaces(t *testing.T) {
	pa := startPolicyApp(t)
	orgKeys, esKeys := "/api/v1/orgs/default/api-keys", pa.es+"/api_key"
	pa.alice.do("PUT", policyPath, map[string]any{"max_active_keys": 3}).must(t, 200)
	first, _ := pa.alice.createKey(orgKeys, map[string]any{"name": "k1"})
	retry := pa.alice.do("POST", orgKeys, map[string]any{"name": "k2"}, "Idempotency-Key", "once").must(t, 201)
	pa.alice.do("POST", esKeys, map[string]any{"name": "k3", "expiration": "1d"}).must(t, 200)

	grant := map[string]any{"grant_type": "password", "username": "alice", "password": "alice-password"}
	grant["api_key"] = map[string]any{"name": "g"}
	for _, req := range []struct {
		path string
		body any
	}{
		{orgKeys, map[string]any{"name": "k4"}},
		{"/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "k4"}},
		{esKeys, map[string]any{"name": "k4"}},
		{esKeys + "/grant", grant},
	} {
		r := pa.alice.do("POST", req.path, req.body).must(t, 409)
		if !strings.Contains(r.raw, "at most 3 (max_active_keys)") {
			t.Fatalf("%s: %s", req.path, r.raw)
		}
	}
	// A retry of a create that succeeded answers the same key, even at the limit.
	again := pa.alice.do("POST", orgKeys, map[string]any{"name": "k2"}, "Idempotency-Key", "once").must(t, 201)
	if again.str("id") != retry.str("id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %s, first %s", again.raw, retry.raw)
	}
	// Revoking a key makes room for one more, and no batch may pass the limit.
	pa.alice.do("DELETE", orgKeys+"/"+first, nil).must(t, 200)
	delete(grant, "api_key")
	grant["api_keys"] = []any{map[string]any{"name": "b1"}, map[string]any{"name": "b2"}}
	pa.alice.do("POST", esKeys+"/_bulk_grant", grant).must(t, 409)
	grant["api_keys"] = []any{map[string]any{"name": "b1"}}
	pa.alice.do("POST", esKeys+"/_bulk_grant", grant).must(t, 200)
	if r := pa.alice.do("GET", policyPath, nil).must(t, 200); r.body["effective"].(map[string]any)["active_keys"] != float64(3) {
		t.Fatalf("active keys: %s", r.raw)
	}
}

func TestKeysFromBeforeAStricterPolicyKeepWorkingAndSaySo(t *testing.T) {
	pa := startPolicyApp(t)
	orgKeys := "/api/v1/orgs/default/api-keys"
	neverID, neverKey := pa.alice.createKey(orgKeys, map[string]any{"name": "forever", "expiration": "never"})
	longID, _ := pa.alice.createKey(orgKeys, map[string]any{"name": "long", "expiration": "300d"})
	shortID, _ := pa.alice.createKey(orgKeys, map[string]any{"name": "short", "expiration": "10d"})
	revoked, _ := pa.alice.createKey(orgKeys, map[string]any{"name": "revoked", "expiration": "never"})
	pa.alice.do("DELETE", orgKeys+"/"+revoked, nil).must(t, 200)
	pa.alice.do("PUT", policyPath, map[string]any{"max_expiration": "60d", "allow_never": false}).must(t, 200)

	for id, want := range map[string]bool{neverID: true, longID: true, shortID: false, revoked: false} {
		if r := pa.alice.do("GET", orgKeys+"/"+id, nil).must(t, 200); r.body["exceeds_policy"] != want {
			t.Errorf("key %s: %s, want exceeds_policy %v", id, r.raw, want)
		}
	}
	// The never-expiring key still authenticates.
	pa.as(t, apiKey(neverKey)).do("GET", orgKeys, nil).must(t, 200)

	names := func(query string) string {
		r := pa.alice.do("GET", orgKeys+query, nil).must(t, 200)
		var out []string
		for _, k := range r.body["api_keys"].([]any) {
			out = append(out, k.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := names("?exceeds_policy=true&sort=name"); got != "forever,long" {
		t.Fatalf("exceeding: %s", got)
	}
	if got := names("?exceeds_policy=false&sort=name"); got != "revoked,short" {
		t.Fatalf("within: %s", got)
	}
	pa.alice.do("GET", orgKeys+"?exceeds_policy=yes", nil).must(t, 400)

	// As of before the change, nothing exceeded the policy of then.
	trail := pa.alice.do("GET", "/api/v1/orgs/default/audit?type=KeyPolicySet", nil).must(t, 200)
	seq := int(trail.body["entries"].([]any)[0].(map[string]any)["seq"].(float64))
	before := pa.alice.do("GET", orgKeys+"?exceeds_policy=true&as_of="+strconv.Itoa(seq-1), nil).must(t, 200)
	after := pa.alice.do("GET", orgKeys+"?exceeds_policy=true&as_of="+strconv.Itoa(seq), nil).must(t, 200)
	if before.body["total"] != float64(0) || after.body["total"] != float64(2) {
		t.Fatalf("as of %d: %s; as of %d: %s", seq-1, before.raw, seq, after.raw)
	}
	if after.body["as_of"].(map[string]any)["policy"].(map[string]any)["max_expiration"] != "60d" {
		t.Fatalf("as_of policy: %s", after.raw)
	}
}

func TestThePolicySurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	a.as(t, basic(ownerAuth)).do("PUT", policyPath, map[string]any{"max_expiration": "60d"}).must(t, 200)
	a.Close()
	b := startApp(t, dir, nil)
	alice := b.as(t, basic(ownerAuth))
	if r := alice.do("GET", policyPath, nil).must(t, 200); r.body["max_expiration"] != "60d" {
		t.Fatalf("after restart: %s", r.raw)
	}
	alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "k", "expiration": "61d"}).must(t, 400)
}

func TestARetriedCreateIsAnsweredOnlyToWhoMayStillCreate(t *testing.T) {
	pa := startPolicyApp(t)
	pa.addMember(t, ownerAuth, "default", "bob", "admin")
	bob := pa.as(t, basic("bob:bob-password"))
	orgKeys := "/api/v1/orgs/default/api-keys"
	bob.do("POST", orgKeys, map[string]any{"name": "b"}, "Idempotency-Key", "bob-once").must(t, 201)
	pa.alice.do("PUT", policyPath, map[string]any{"max_active_keys": 1}).must(t, 200)
	// At the limit, the retry is still the same key ...
	bob.do("POST", orgKeys, map[string]any{"name": "b"}, "Idempotency-Key", "bob-once").must(t, 201)
	// ... but not once bob may no longer create keys.
	pa.alice.do("PUT", "/api/v1/orgs/default/members/bob", map[string]any{"role": "viewer"}).must(t, 200)
	if r := bob.do("POST", orgKeys, map[string]any{"name": "b"}, "Idempotency-Key", "bob-once"); r.status != 403 || strings.Contains(r.raw, "encoded") {
		t.Fatalf("a viewer's retry: %d %s", r.status, r.raw)
	}
}
