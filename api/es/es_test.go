package es_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testhttp"
)

// The create example of Elasticsearch's documentation (seeds/004), sent to
// "/" as a client pointed at the server would, returns the documented
// fields, and the curl examples work verbatim with the key.
func TestSeedExamplesWorkAtTheRoot(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	created := esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{
	  "name": "my-api-key",
	  "expiration": "1d",
	  "role_descriptors": {
	    "role-a": {"cluster": ["all"], "index": [{"names": ["index-a*"], "privileges": ["read"]}]},
	    "role-b": {"cluster": ["all"], "index": [{"names": ["index-b*"], "privileges": ["all"]}]}
	  },
	  "metadata": {"application": "my-application", "environment": {"level": 1, "trusted": true, "tags": ["dev", "staging"]}}
	}`).Must(t, 200)
	for _, f := range []string{"id", "name", "expiration", "api_key", "encoded"} {
		if created.Body[f] == nil {
			t.Fatalf("create answer lacks %s: %s", f, created.Raw)
		}
	}
	if len(created.Body) != 5 || created.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("create answer: %v %s", created.Header, created.Raw)
	}
	enc := created.Str("encoded")
	if want := base64.StdEncoding.EncodeToString([]byte(created.Str("id") + ":" + created.Str("api_key"))); enc != want {
		t.Fatalf("encoded %s, want base64(id:api_key) %s", enc, want)
	}
	// curl -H "Authorization: ApiKey $ENCODED" http://localhost:9200/_cluster/health\?pretty
	health := esDo(t, "GET", a.URL()+"/_cluster/health?pretty", "ApiKey "+enc, nil).Must(t, 200)
	if health.Str("status") != "green" || !strings.Contains(health.Raw, "\n  \"") || health.Header.Get("X-Elastic-Api-Key-Expiration") == "" {
		t.Fatalf("health: %v %s", health.Header, health.Raw)
	}
	// curl "${ES_URL}" -H "Authorization: ApiKey ${API_KEY}" (seeds/001)
	root := esDo(t, "GET", a.URL()+"/", "APIKey "+enc, nil).Must(t, 200)
	if root.Header.Get("X-Elastic-Product") != "Elasticsearch" || root.Body["version"].(map[string]any)["number"] == nil {
		t.Fatalf("banner: %v %s", root.Header, root.Raw)
	}
	// The examples of seeds/003: a read-only key, look it up by name, invalidate it by id.
	ro := esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "read-only-key", "role_descriptors":
		{"read_role": {"cluster": ["monitor"], "index": [{"names": ["logs-*"], "privileges": ["read"]}]}}}`).Must(t, 200)
	if ro.Body["expiration"] != nil {
		t.Fatalf("Elasticsearch keys never expire by default: %s", ro.Raw)
	}
	got := esDo(t, "GET", a.URL()+"/_security/api_key?name=read-only-key", owner, nil).Must(t, 200)
	keys := got.Body["api_keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["id"] != ro.Str("id") {
		t.Fatalf("get by name: %s", got.Raw)
	}
	inv := esDo(t, "DELETE", a.URL()+"/_security/api_key", owner, `{"ids": ["`+ro.Str("id")+`"]}`).Must(t, 200)
	if ids := inv.Body["invalidated_api_keys"].([]any); len(ids) != 1 || ids[0] != ro.Str("id") {
		t.Fatalf("invalidate: %s", inv.Raw)
	}
	esDo(t, "GET", a.URL()+"/_security/_authenticate", "ApiKey "+ro.Str("encoded"), nil).Must(t, 401)
}

// A key acts in its own project; another project's key, user or token is
// unknown there, and nothing of one project shows in another.
func TestProjectsAreSeparateClusters(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	esDo(t, "POST", a.URL()+"/api/v1/orgs/default/projects", owner, `{"name": "other"}`).Must(t, 201)
	def, other := a.URL()+"/projects/default", a.URL()+"/projects/other"
	esDo(t, "PUT", other+"/_security/role/r", owner, `{"cluster": ["all"]}`).Must(t, 200)
	esDo(t, "PUT", other+"/_security/user/bob", owner, `{"password": "bob-password", "roles": ["r"]}`).Must(t, 200)
	bob := basic("bob:bob-password")
	otherKey := esDo(t, "POST", other+"/_security/api_key", bob, `{"name": "k"}`).Must(t, 200)
	defKey := esDo(t, "POST", def+"/_security/api_key", owner, `{"name": "d"}`).Must(t, 200)

	// At the root, a project key acts in its own project.
	who := esDo(t, "GET", a.URL()+"/_security/_authenticate", "ApiKey "+otherKey.Str("encoded"), nil).Must(t, 200)
	if who.Str("username") != "bob" {
		t.Fatalf("root with other's key: %s", who.Raw)
	}
	list := esDo(t, "GET", a.URL()+"/_security/api_key", "ApiKey "+otherKey.Str("encoded"), nil).Must(t, 200)
	if ks := list.Body["api_keys"].([]any); len(ks) != 1 || ks[0].(map[string]any)["id"] != otherKey.Str("id") {
		t.Fatalf("other's key lists: %s", list.Raw)
	}
	// Elsewhere, it is unknown: 401, never data.
	for _, path := range []string{"/_security/api_key", "/_security/_authenticate", "/_cluster/health"} {
		esDo(t, "GET", def+path, "ApiKey "+otherKey.Str("encoded"), nil).Must(t, 401)
		esDo(t, "GET", def+path, bob, nil).Must(t, 401)
	}
	tok := esDo(t, "POST", other+"/_security/oauth2/token", owner, `{"grant_type": "password", "username": "bob", "password": "bob-password"}`).Must(t, 200)
	esDo(t, "GET", def+"/_security/_authenticate", "Bearer "+tok.Str("access_token"), nil).Must(t, 401)
	byToken := esDo(t, "GET", other+"/_security/_authenticate", "Bearer "+tok.Str("access_token"), nil).Must(t, 200)
	if byToken.Str("authentication_type") != "token" || byToken.Str("username") != "bob" {
		t.Fatalf("bearer: %s", byToken.Raw)
	}
	// Invalidating another project's key by id finds nothing.
	inv := esDo(t, "DELETE", other+"/_security/api_key", bob, `{"ids": ["`+defKey.Str("id")+`"]}`).Must(t, 200)
	if len(inv.Body["invalidated_api_keys"].([]any)) != 0 {
		t.Fatalf("cross-project invalidate: %s", inv.Raw)
	}
	q := esDo(t, "POST", other+"/_security/_query/api_key", owner, `{}`).Must(t, 200)
	if q.Body["total"].(float64) != 1 {
		t.Fatalf("other's query sees: %s", q.Raw)
	}
	users := esDo(t, "GET", def+"/_security/user", owner, nil).Must(t, 200)
	if len(users.Body) != 0 {
		t.Fatalf("default project has other's users: %s", users.Raw)
	}
	// A member of another organization is unknown in this one.
	testhttp.AddMember(t, a.URL(), owner, "default", testhttp.Member{Name: "carol", Password: "carol-password", Role: "viewer"})
	carol := basic("carol:carol-password")
	esDo(t, "POST", a.URL()+"/api/v1/orgs", carol, `{"name": "carolco"}`).Must(t, 201)
	esDo(t, "GET", a.URL()+"/_security/_authenticate", carol, nil).Must(t, 200)
	esDo(t, "PUT", a.URL()+"/_security/user/mallory", carol, `{"password": "mallory-pw", "roles": []}`).Must(t, 403)
	// A project user may not take the name of a member of its own
	// organization, which would shadow the member's Basic credentials
	// (TestAProjectUserNeverShadowsAMember); logins elsewhere are never
	// looked at.
	esDo(t, "PUT", other+"/_security/user/carol", owner, `{"password": "carol-other", "roles": []}`).Must(t, 409)
	// An unknown project answers as another tenant's does: 401.
	esDo(t, "GET", a.URL()+"/projects/nope/_security/_authenticate", owner, nil).Must(t, 401)
}

// Errors are JSON in Elasticsearch's shape, with the product header, for
// routed and unrouted requests alike.
func TestElasticsearchErrorsAreJSON(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	// A key for the query rows to find: paging past it must still be a 400.
	esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "k"}`).Must(t, 200)
	for _, tt := range []struct {
		method, path, auth, body string
		status                   int
		typ                      string
	}{
		{"GET", "/_security/api_key", "", "", 401, "security_exception"},
		{"GET", "/_security/api_key", basic("alice:wrong"), "", 401, "security_exception"},
		{"GET", "/_security/api_key", "ApiKey bm9wZTpub3Bl", "", 401, "security_exception"},
		{"GET", "/_security/api_key?nope=1", owner, "", 400, "action_request_validation_exception"},
		{"POST", "/_security/api_key", owner, `{"name": `, 400, "action_request_validation_exception"},
		{"POST", "/_security/api_key", owner, `{}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/api_key", owner, `{"name": "x", "role_descriptors": {"r": {"cluster": ["fly"]}}}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/_query/api_key", owner, `{"query": {"fuzzy": {"name": "x"}}}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/_query/api_key", owner, `{"size": 20000}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/_query/api_key", owner, `{"from": 9223372036854775807, "size": 1}`, 400, "action_request_validation_exception"},
		{"PUT", "/_security/api_key/nope", owner, `{}`, 404, "resource_not_found_exception"},
		{"GET", "/_security/nothing", owner, "", 404, "resource_not_found_exception"},
		{"PATCH", "/_security/api_key", owner, "", 405, "method_not_allowed_exception"},
		{"DELETE", "/_security/api_key", owner, `{}`, 400, "action_request_validation_exception"},
		// Nulls where Elasticsearch wants values are refused, not read as empty.
		{"POST", "/_security/api_key/_bulk_update", owner, `{"ids": [null]}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/user/_has_privileges", owner, `{"index": [null]}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/_query/api_key", owner, `{"sort": [{"name": {"order": 3}}]}`, 400, "action_request_validation_exception"},
		{"POST", "/_security/_query/api_key", owner, `{"query": {"range": {"creation": {"gte": "now-1d", "format": 5}}}}`, 400, "action_request_validation_exception"},
	} {
		r := esDo(t, tt.method, a.URL()+tt.path, tt.auth, tt.body)
		e, _ := r.Body["error"].(map[string]any)
		if r.Status != tt.status || e == nil || e["type"] != tt.typ || r.Header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s %s: %d %v %s, want %d %s", tt.method, tt.path, r.Status, r.Header.Get("X-Elastic-Product"), r.Raw, tt.status, tt.typ)
		}
	}
}

// The typed Go client sends the vendor media type and the APIKey scheme.
func TestCompatibleMediaType(t *testing.T) {
	a := startApp(t)
	req, _ := http.NewRequest("GET", a.URL()+"/_security/_authenticate", nil)
	req.Header.Set("Authorization", basic(ownerAuth))
	req.Header.Set("Accept", "application/vnd.elasticsearch+json;compatible-with=9")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.elasticsearch+json;compatible-with=9" {
		t.Fatalf("content type %q", ct)
	}
	f := esDo(t, "GET", a.URL()+"/_security/_authenticate?filter_path=username,authentication_realm.name", basic(ownerAuth), nil).Must(t, 200)
	if len(f.Body) != 2 || f.Str("username") != "alice" {
		t.Fatalf("filter_path: %s", f.Raw)
	}
}

// Users, roles and privileges are events: they survive a restart.
func TestRealmSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	a := startAppIn(t, dir)
	owner := basic(ownerAuth)
	esDo(t, "PUT", a.URL()+"/_security/role/r", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	esDo(t, "PUT", a.URL()+"/_security/user/dave", owner, `{"password": "dave-password", "roles": ["r"], "full_name": "Dave"}`).Must(t, 200)
	esDo(t, "PUT", a.URL()+"/_security/privilege", owner, `{"app": {"read": {"actions": ["data:read/*"]}}}`).Must(t, 200)
	k := esDo(t, "POST", a.URL()+"/_security/api_key", basic("dave:dave-password"), `{"name": "dk"}`).Must(t, 200)
	a.Close()
	b := startAppIn(t, dir)
	who := esDo(t, "GET", b.URL()+"/_security/_authenticate", basic("dave:dave-password"), nil).Must(t, 200)
	if who.Str("full_name") != "Dave" || who.Body["authentication_realm"].(map[string]any)["name"] != "default_native" {
		t.Fatalf("after restart: %s", who.Raw)
	}
	hp := esDo(t, "POST", b.URL()+"/_security/user/_has_privileges", "ApiKey "+k.Str("encoded"),
		`{"cluster": ["manage_own_api_key", "manage_api_key"]}`).Must(t, 200)
	c := hp.Body["cluster"].(map[string]any)
	if c["manage_own_api_key"] != true || c["manage_api_key"] != false {
		t.Fatalf("has_privileges after restart: %s", hp.Raw)
	}
	privs := esDo(t, "GET", b.URL()+"/_security/privilege/app", owner, nil).Must(t, 200)
	if privs.Body["app"] == nil {
		t.Fatalf("privileges after restart: %s", privs.Raw)
	}
	// Deleting the user stops its keys' privileges (keyplane intersects
	// with the owner's current roles).
	esDo(t, "DELETE", b.URL()+"/_security/user/dave", owner, nil).Must(t, 200)
	esDo(t, "DELETE", b.URL()+"/_security/user/dave", owner, nil).Must(t, 404)
	esDo(t, "GET", b.URL()+"/_security/_authenticate", basic("dave:dave-password"), nil).Must(t, 401)
	hp = esDo(t, "POST", b.URL()+"/_security/user/_has_privileges", "ApiKey "+k.Str("encoded"), `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	if hp.Body["has_all_requested"] != false {
		t.Fatalf("a deleted owner's key keeps privileges: %s", hp.Raw)
	}
}

// With manage_own_api_key only, a user reaches its own keys and must say
// so (owner=true, or its username and realm); a key reaches only itself.
func TestManageOwnReachesOnlyOwnKeys(t *testing.T) {
	a := startApp(t)
	owner, base := basic(ownerAuth), a.URL()
	esDo(t, "PUT", base+"/_security/role/own", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	for _, u := range []string{"u1", "u2"} {
		esDo(t, "PUT", base+"/_security/user/"+u, owner, `{"password": "`+u+`-password", "roles": ["own"]}`).Must(t, 200)
	}
	u1, u2 := basic("u1:u1-password"), basic("u2:u2-password")
	k1 := esDo(t, "POST", base+"/_security/api_key", u1, `{"name": "k1"}`).Must(t, 200)
	k2 := esDo(t, "POST", base+"/_security/api_key", u2, `{"name": "k2"}`).Must(t, 200)
	esDo(t, "GET", base+"/_security/api_key", u1, nil).Must(t, 403)
	esDo(t, "GET", base+"/_security/api_key?id="+k2.Str("id"), u1, nil).Must(t, 403)
	own := esDo(t, "GET", base+"/_security/api_key?owner=true", u1, nil).Must(t, 200)
	if ks := own.Body["api_keys"].([]any); len(ks) != 1 || ks[0].(map[string]any)["id"] != k1.Str("id") {
		t.Fatalf("owner=true: %s", own.Raw)
	}
	esDo(t, "GET", base+"/_security/api_key?username=u1&realm_name=default_native", u1, nil).Must(t, 200)
	esDo(t, "GET", base+"/_security/api_key?username=u2&realm_name=default_native", u1, nil).Must(t, 403)
	// A key sees itself by id, nothing else, and never its limited-by.
	key1 := "ApiKey " + k1.Str("encoded")
	esDo(t, "GET", base+"/_security/api_key?id="+k1.Str("id"), key1, nil).Must(t, 200)
	esDo(t, "GET", base+"/_security/api_key?id="+k2.Str("id"), key1, nil).Must(t, 403)
	esDo(t, "GET", base+"/_security/api_key?id="+k1.Str("id")+"&with_limited_by=true", key1, nil).Must(t, 403)
	q := esDo(t, "POST", base+"/_security/_query/api_key", u2, `{}`).Must(t, 200)
	if q.Body["total"].(float64) != 1 {
		t.Fatalf("u2's query: %s", q.Raw)
	}
	// Updates touch only the caller's keys; keys cannot update keys.
	esDo(t, "PUT", base+"/_security/api_key/"+k2.Str("id"), u1, `{"metadata": {"x": 1}}`).Must(t, 404)
	esDo(t, "PUT", base+"/_security/api_key/"+k1.Str("id"), key1, `{"metadata": {"x": 1}}`).Must(t, 400)
	bulk := esDo(t, "POST", base+"/_security/api_key/_bulk_update", u1, `{"ids": ["`+k1.Str("id")+`", "`+k2.Str("id")+`"], "metadata": {"x": 1}}`).Must(t, 200)
	if errs, _ := bulk.Body["errors"].(map[string]any); errs == nil || errs["count"].(float64) != 1 || len(bulk.Body["updated"].([]any)) != 1 {
		t.Fatalf("bulk update across owners: %s", bulk.Raw)
	}
	// A key may invalidate itself, and a user its own keys with owner=true.
	esDo(t, "DELETE", base+"/_security/api_key", u1, `{"ids": ["`+k2.Str("id")+`"]}`).Must(t, 403)
	inv := esDo(t, "DELETE", base+"/_security/api_key", key1, `{"ids": ["`+k1.Str("id")+`"]}`).Must(t, 200)
	if len(inv.Body["invalidated_api_keys"].([]any)) != 1 {
		t.Fatalf("self-invalidation: %s", inv.Raw)
	}
	inv = esDo(t, "DELETE", base+"/_security/api_key", u2, `{"owner": true}`).Must(t, 200)
	if len(inv.Body["invalidated_api_keys"].([]any)) != 1 {
		t.Fatalf("owner=true invalidation: %s", inv.Raw)
	}
}

// A project id reaches its project whatever the organization "default"
// names its own projects: a default project named after another
// organization's project id must not take that project's address.
func TestProjectIDsComeBeforeDefaultProjectNames(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	acme := esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "acme"}`).Must(t, 201).Str("id")
	id := esDo(t, "POST", a.URL()+"/api/v1/orgs/"+acme+"/projects", owner, `{"name": "p"}`).Must(t, 201).Str("id")
	key := esDo(t, "POST", a.URL()+"/projects/"+id+"/_security/api_key", owner, `{"name": "k"}`).Must(t, 200)
	esDo(t, "POST", a.URL()+"/api/v1/orgs/default/projects", owner, `{"name": "`+id+`"}`).Must(t, 201)
	esDo(t, "GET", a.URL()+"/projects/"+id+"/_security/_authenticate", "ApiKey "+key.Str("encoded"), nil).Must(t, 200)
}
