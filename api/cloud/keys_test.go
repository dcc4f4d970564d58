package cloud_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testapp"
)

func TestCloudKeyIsCreatedShownOnceListedAndDeletedOverHTTP(t *testing.T) {
	a := testapp.Start(t)
	before := time.Now()
	res := createKey(t, a, owner, map[string]any{"description": "ci"}).Must(t, http.StatusCreated)
	id, key := res.Str("id"), res.Str("key")
	if id == "" || key == "" || res.Str("description") != "ci" || res.Str("user_id") != testapp.Owner || res.Str("organization_id") == "" {
		t.Fatalf("create answer %s", res.Raw)
	}
	created, err := time.Parse(time.RFC3339, res.Str("creation_date"))
	if err != nil || created.Before(before.Add(-time.Second)) {
		t.Fatalf("creation_date %q: %v", res.Str("creation_date"), err)
	}
	exp, err := time.Parse(time.RFC3339, res.Str("expiration_date"))
	if err != nil || exp.Sub(created) < 89*24*time.Hour || exp.Sub(created) > 91*24*time.Hour {
		t.Fatalf("expiration_date %q (%v): want three months after creation", res.Str("expiration_date"), err)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the answer that shows the key must not be cached")
	}
	ra, _ := res.Body["role_assignments"].(map[string]any)
	if !strings.Contains(res.Raw, `"organization-admin"`) || ra == nil {
		t.Fatalf("a key made without assignments takes the owner's roles: %s", res.Raw)
	}

	// The key is the credential Authorization: ApiKey takes; answers to it
	// say when it expires.
	list := call(t, "GET", keysURL(a), apiKey(key), nil).Must(t, http.StatusOK)
	if list.Header.Get("X-Elastic-Api-Key-Expiration") == "" {
		t.Fatal("an answer to a key must carry X-Elastic-Api-Key-Expiration")
	}
	keys, _ := list.Body["keys"].([]any)
	if len(keys) != 1 || strings.Contains(list.Raw, key) || strings.Contains(list.Raw, `"key"`) {
		t.Fatalf("list must show the one key without its secret: %s", list.Raw)
	}
	got := call(t, "GET", keysURL(a)+"/"+id, owner, nil).Must(t, http.StatusOK)
	if got.Str("id") != id || got.Str("key") != "" {
		t.Fatalf("get %s", got.Raw)
	}

	del := call(t, "DELETE", keysURL(a)+"/"+id, owner, nil).Must(t, http.StatusOK)
	if strings.TrimSpace(del.Raw) != "{}" {
		t.Fatalf("delete answers {}: %s", del.Raw)
	}
	gone := call(t, "GET", keysURL(a)+"/"+id, owner, nil).Must(t, http.StatusNotFound)
	if cloudCode(gone) != "api_keys.key_not_found" || gone.Header.Get("X-Cloud-Error-Codes") != "api_keys.key_not_found" {
		t.Fatalf("a deleted key is not found, in Elastic Cloud's shape: %s", gone.Raw)
	}
	call(t, "DELETE", keysURL(a)+"/"+id, owner, nil).Must(t, http.StatusNotFound)
	refused := call(t, "GET", keysURL(a), apiKey(key), nil).Must(t, http.StatusUnauthorized)
	if cloudCode(refused) != "root.unauthenticated" {
		t.Fatalf("a deleted key is refused at once: %s", refused.Raw)
	}
	if l := call(t, "GET", keysURL(a), owner, nil).Must(t, http.StatusOK); strings.Contains(l.Raw, id) {
		t.Fatalf("a deleted key is gone from the list: %s", l.Raw)
	}
	// keyplane's own list keeps it, invalidated.
	own := call(t, "GET", a.URL()+"/api/v1/orgs/default/api-keys/"+id, owner, nil).Must(t, http.StatusOK)
	if own.Body["invalidated"] != true {
		t.Fatalf("keyplane's list keeps the key as invalidated: %s", own.Raw)
	}
}

func TestCloudDeleteOfManyKeysRevokesAllOrNone(t *testing.T) {
	a := testapp.Start(t)
	var ids []string
	for _, d := range []string{"a", "b", "c"} {
		ids = append(ids, createKey(t, a, owner, map[string]any{"description": d}).Must(t, http.StatusCreated).Str("id"))
	}
	miss := call(t, "DELETE", keysURL(a), owner, map[string]any{"keys": []string{ids[0], "nope"}}).Must(t, http.StatusNotFound)
	if cloudCode(miss) != "api_keys.key_not_found" || !strings.Contains(miss.Raw, "nope") {
		t.Fatalf("an unknown id: %s", miss.Raw)
	}
	call(t, "GET", keysURL(a)+"/"+ids[0], owner, nil).Must(t, http.StatusOK)
	del := call(t, "DELETE", keysURL(a), owner, map[string]any{"keys": ids[:2]}).Must(t, http.StatusOK)
	if strings.TrimSpace(del.Raw) != "{}" {
		t.Fatalf("delete answers {}: %s", del.Raw)
	}
	keys, _ := call(t, "GET", keysURL(a), owner, nil).Must(t, http.StatusOK).Body["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["id"] != ids[2] {
		t.Fatalf("left %v, want only %s", keys, ids[2])
	}
}

func TestCloudBadRequestsAreRefusedInElasticCloudsShape(t *testing.T) {
	a := testapp.Start(t)
	projectKey := call(t, "POST", a.URL()+"/api/v1/orgs/default/projects/default/api-keys", owner,
		map[string]any{"name": "p"}).Must(t, http.StatusCreated).Str("encoded")
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		body   any
		status int
		code   string
	}{
		{"no credentials", "GET", "", "", nil, 401, "root.unauthenticated"},
		{"a project key", "GET", "", apiKey(projectKey), nil, 403, "root.unauthorized"},
		{"a method the API has not", "PUT", "", owner, map[string]any{}, 405, "root.method_not_allowed"},
		{"a method a key has not", "POST", "/nope", owner, map[string]any{}, 405, "root.method_not_allowed"},
		{"wrong password", "GET", "", "Basic YWxpY2U6bm8=", nil, 401, "root.unauthenticated"},
		{"no description", "POST", "", owner, map[string]any{}, 400, "api_keys.invalid_input"},
		{"unknown field", "POST", "", owner, map[string]any{"description": "x", "name": "y"}, 400, "api_keys.invalid_input"},
		{"not json", "POST", "", owner, "{", 400, "api_keys.invalid_input"},
		{"bad expiration", "POST", "", owner, map[string]any{"description": "x", "expiration": "soon"}, 400, "api_keys.invalid_input"},
		{"past expiration", "POST", "", owner, map[string]any{"description": "x", "expiration": "-1d"}, 400, "api_keys.invalid_input"},
		{"unknown parameter", "GET", "?size=1", owner, nil, 400, "api_keys.invalid_input"},
		{"delete without ids", "DELETE", "", owner, map[string]any{"keys": []string{}}, 400, "api_keys.invalid_input"},
		{"delete without body", "DELETE", "", owner, nil, 400, "api_keys.invalid_input"},
		{"unknown key", "GET", "/nope", owner, nil, 404, "api_keys.key_not_found"},
		{"platform role", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{"platform": []any{map[string]any{"role_id": "platform-admin"}}}}, 400, "api_keys.invalid_input"},
		{"unknown organization role", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{"organization": []any{map[string]any{"organization_id": "default", "role_id": "god"}}}}, 400, "api_keys.invalid_input"},
		{"another organization", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{"organization": []any{map[string]any{"organization_id": "elsewhere", "role_id": "organization-admin"}}}}, 400, "api_keys.invalid_input"},
		{"project role without projects or all", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{"deployment": []any{map[string]any{"organization_id": "default", "role_id": "deployment-admin"}}}}, 400, "api_keys.invalid_input"},
		{"unknown project", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{"deployment": []any{map[string]any{"organization_id": "default", "role_id": "deployment-admin", "deployment_ids": []string{"nope"}}}}}, 400, "api_keys.invalid_input"},
		{"organization and one project at once", "POST", "", owner, map[string]any{"description": "x",
			"role_assignments": map[string]any{
				"organization": []any{map[string]any{"organization_id": "default", "role_id": "organization-admin"}},
				"deployment":   []any{map[string]any{"organization_id": "default", "role_id": "deployment-admin", "deployment_ids": []string{"default"}}}}}, 400, "api_keys.invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, tt.method, keysURL(a)+tt.path, tt.auth, tt.body)
			if res.Status != tt.status || cloudCode(res) != tt.code {
				t.Fatalf("status %d code %q, want %d %q: %s", res.Status, cloudCode(res), tt.status, tt.code, res.Raw)
			}
		})
	}
}

func TestCloudDeleteOfManyIncludingACrossClusterKeyItMayNotRevokeRevokesNone(t *testing.T) {
	a := testapp.Start(t)
	console := a.URL() + "/api/v1/orgs/default"
	cc := call(t, "POST", console+"/projects/default/api-keys", owner, map[string]any{"name": "remote", "type": "cross_cluster",
		"access": map[string]any{"search": []any{map[string]any{"names": []string{"logs-*"}}}}}).Must(t, http.StatusCreated).Str("id")
	// A key of the owner that may revoke keys (manage_api_key), not
	// cross-cluster keys (manage_security).
	revoker := call(t, "POST", console+"/api-keys", owner, map[string]any{"name": "revoker",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_api_key"}}}}).Must(t, http.StatusCreated).Str("encoded")
	rest := createKey(t, a, owner, map[string]any{"description": "rest"}).Must(t, http.StatusCreated).Str("id")
	res := call(t, "DELETE", keysURL(a), apiKey(revoker), map[string]any{"keys": []string{rest, cc}})
	if res.Status != http.StatusForbidden {
		t.Fatalf("status %d, want 403: %s", res.Status, res.Raw)
	}
	call(t, "GET", keysURL(a)+"/"+rest, owner, nil).Must(t, http.StatusOK) // none revoked
}
