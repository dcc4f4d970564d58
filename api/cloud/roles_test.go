package cloud_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// assign is a create body with one assignment of kind ("organization",
// "deployment") and role, to all of default's projects for a scoped one.
func assign(kind, role string) map[string]any {
	a := map[string]any{"organization_id": "default", "role_id": role}
	if kind != "organization" {
		a["all"] = true
	}
	return map[string]any{"description": role, "role_assignments": map[string]any{kind: []any{a}}}
}

func TestCloudRoleAssignmentsBeyondTheCallersRoleAreRefused(t *testing.T) {
	a := testapp.Start(t)
	testhttp.AddMember(t, a.URL(), owner, "default", testhttp.Member{Name: "carol", Password: "carol-password-1", Role: "admin"})
	carol := testhttp.Basic("carol:carol-password-1")
	tests := []struct {
		name   string
		auth   string
		body   map[string]any
		status int
	}{
		{"admin assigning organization-admin", carol, assign("organization", "organization-admin"), http.StatusForbidden},
		{"admin assigning deployment-admin", carol, assign("deployment", "deployment-admin"), http.StatusCreated},
		{"admin assigning a project viewer role", carol, map[string]any{"description": "v", "role_assignments": map[string]any{
			"project": map[string]any{"elasticsearch": []any{map[string]any{"organization_id": "default", "role_id": "elasticsearch-viewer", "all": true}}}}}, http.StatusCreated},
		{"owner assigning organization-admin", owner, assign("organization", "organization-admin"), http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := createKey(t, a, tt.auth, tt.body)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Raw)
			}
			if tt.status == http.StatusForbidden && (cloudCode(res) != "root.unauthorized" || !strings.Contains(res.Raw, "beyond the caller's own")) {
				t.Fatalf("refusal %s", res.Raw)
			}
		})
	}
}

func TestCloudRoleAssignmentsBecomeKeyplaneRolesAndScopes(t *testing.T) {
	a := testapp.Start(t)
	// A viewer key reads and cannot make keys.
	viewer := createKey(t, a, owner, assign("deployment", "deployment-viewer")).Must(t, http.StatusCreated)
	if !strings.Contains(viewer.Raw, `"deployment-viewer"`) {
		t.Fatalf("assignments shown back: %s", viewer.Raw)
	}
	call(t, "GET", keysURL(a), apiKey(viewer.Str("key")), nil).Must(t, http.StatusOK)
	if res := createKey(t, a, apiKey(viewer.Str("key")), map[string]any{"description": "x"}); res.Status != http.StatusForbidden {
		t.Fatalf("a viewer key made a key: %s", res.Raw)
	}
	// An admin key makes keys for its member, never above its own role.
	admin := createKey(t, a, owner, assign("deployment", "deployment-admin")).Must(t, http.StatusCreated)
	made := createKey(t, a, apiKey(admin.Str("key")), map[string]any{"description": "by key"}).Must(t, http.StatusCreated)
	if made.Str("user_id") != testapp.Owner || !strings.Contains(made.Raw, `"deployment-admin"`) || strings.Contains(made.Raw, "organization-admin") {
		t.Fatalf("a key's key is its member's, with the key's roles: %s", made.Raw)
	}
	if res := createKey(t, a, apiKey(admin.Str("key")), assign("organization", "organization-admin")); res.Status != http.StatusForbidden {
		t.Fatalf("an admin key assigned organization-admin: %s", res.Raw)
	}
	// The key it made cannot manage owners, though its member can.
	own := call(t, "PUT", a.URL()+"/api/v1/orgs/default/policy", apiKey(made.Str("key")), map[string]any{"max_active_keys": 100})
	if own.Status != http.StatusForbidden {
		t.Fatalf("a key made by an admin key set the policy: %d %s", own.Status, own.Raw)
	}
	// One project's role makes a key of that project.
	proj := createKey(t, a, owner, map[string]any{"description": "p", "role_assignments": map[string]any{"project": map[string]any{
		"elasticsearch": []any{map[string]any{"organization_id": "default", "role_id": "elasticsearch-admin", "project_ids": []string{"default"}}}}}}).Must(t, http.StatusCreated)
	kv := call(t, "GET", a.URL()+"/api/v1/orgs/default/api-keys/"+proj.Str("id"), owner, nil).Must(t, http.StatusOK)
	if kv.Str("scope") != "project" || kv.Str("project") == "" || !strings.Contains(proj.Raw, `"project_ids":["`+kv.Str("project")+`"]`) {
		t.Fatalf("a project assignment makes a project key: %s / %s", kv.Raw, proj.Raw)
	}
}

func TestCloudExpirationKeepsToTheOrganizationsPolicy(t *testing.T) {
	a := testapp.Start(t)
	exp := func(r testhttp.Response) time.Duration {
		t.Helper()
		c, _ := time.Parse(time.RFC3339, r.Str("creation_date"))
		e, err := time.Parse(time.RFC3339, r.Str("expiration_date"))
		if err != nil {
			t.Fatalf("expiration_date: %v: %s", err, r.Raw)
		}
		return e.Sub(c).Round(time.Hour)
	}
	if d := exp(createKey(t, a, owner, map[string]any{"description": "x", "expiration": "3d"}).Must(t, http.StatusCreated)); d != 72*time.Hour {
		t.Fatalf("3d gave %v", d)
	}
	never := createKey(t, a, owner, map[string]any{"description": "x", "expiration": "never"}).Must(t, http.StatusCreated)
	if _, ok := never.Body["expiration_date"]; ok {
		t.Fatalf("a key that never expires has no expiration_date: %s", never.Raw)
	}
	call(t, "PUT", a.URL()+"/api/v1/orgs/default/policy", owner, map[string]any{"max_expiration": "30d", "allow_never": false}).Must(t, http.StatusOK)
	if d := exp(createKey(t, a, owner, map[string]any{"description": "x"}).Must(t, http.StatusCreated)); d != 30*24*time.Hour {
		t.Fatalf("the default under max_expiration 30d gave %v", d)
	}
	for _, e := range []string{"90d", "never"} {
		res := createKey(t, a, owner, map[string]any{"description": "x", "expiration": e}).Must(t, http.StatusBadRequest)
		if cloudCode(res) != "api_keys.invalid_input" || !strings.Contains(res.Raw, "policy") && !strings.Contains(res.Raw, "max_expiration") {
			t.Fatalf("expiration %s: %s", e, res.Raw)
		}
	}
}

func TestCloudTenantNeverSeesAnotherTenantsKeys(t *testing.T) {
	a := testapp.Start(t)
	call(t, "POST", a.URL()+"/api/v1/orgs", owner, map[string]any{"name": "acme"}).Must(t, http.StatusCreated)
	// alice is now in two organizations: she names one.
	if res := createKey(t, a, owner, map[string]any{"description": "x"}); res.Status != http.StatusBadRequest || !strings.Contains(res.Raw, "organization_id") {
		t.Fatalf("a member of two organizations who names none: %s", res.Raw)
	}
	mine := call(t, "POST", keysURL(a)+"?organization_id=default", owner, map[string]any{"description": "default's"}).Must(t, http.StatusCreated)
	acme := call(t, "POST", keysURL(a)+"?organization_id=acme", owner, map[string]any{"description": "acme's"}).Must(t, http.StatusCreated)
	id := mine.Str("id")
	unknown := call(t, "GET", keysURL(a)+"/nope", apiKey(acme.Str("key")), nil).Must(t, http.StatusNotFound)
	for _, try := range []struct{ method, url string }{{"GET", keysURL(a) + "/" + id}, {"DELETE", keysURL(a) + "/" + id},
		{"GET", keysURL(a) + "/" + id + "?organization_id=default"}} {
		res := call(t, try.method, try.url, apiKey(acme.Str("key")), nil).Must(t, http.StatusNotFound)
		if strings.ReplaceAll(res.Raw, id, "nope") != unknown.Raw {
			t.Fatalf("another tenant's key must look like no key: %s vs %s", res.Raw, unknown.Raw)
		}
	}
	call(t, "DELETE", keysURL(a), apiKey(acme.Str("key")), map[string]any{"keys": []string{id}}).Must(t, http.StatusNotFound)
	list := call(t, "GET", keysURL(a), apiKey(acme.Str("key")), nil).Must(t, http.StatusOK)
	if strings.Contains(list.Raw, id) || strings.Contains(list.Raw, "default's") {
		t.Fatalf("acme's key listed default's key: %s", list.Raw)
	}
	call(t, "GET", keysURL(a)+"/"+id, apiKey(mine.Str("key")), nil).Must(t, http.StatusOK)
	if res := call(t, "GET", keysURL(a)+"?organization_id=nope", owner, nil); res.Status != http.StatusNotFound {
		t.Fatalf("an unknown organization: %s", res.Raw)
	}
}

func TestCloudKeyLimitedToItsOwnKeysSeesAndRevokesOnlyItself(t *testing.T) {
	a := testapp.Start(t)
	other := createKey(t, a, owner, map[string]any{"description": "other"}).Must(t, http.StatusCreated).Str("id")
	own := call(t, "POST", a.URL()+"/api/v1/orgs/default/api-keys", owner, map[string]any{"name": "own",
		"role_descriptors": map[string]any{"own": map[string]any{"cluster": []string{"manage_own_api_key"}}}}).Must(t, http.StatusCreated)
	auth := apiKey(own.Str("encoded"))
	list := call(t, "GET", keysURL(a), auth, nil).Must(t, http.StatusOK)
	keys, _ := list.Body["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["id"] != own.Str("id") {
		t.Fatalf("a manage_own_api_key key lists only itself: %s", list.Raw)
	}
	if strings.Contains(list.Raw, "role_assignments") {
		t.Fatalf("a key of other privileges than roles shows no role assignments: %s", list.Raw)
	}
	call(t, "DELETE", keysURL(a), auth, map[string]any{"keys": []string{own.Str("id"), other}}).Must(t, http.StatusForbidden)
	call(t, "GET", keysURL(a)+"/"+other, owner, nil).Must(t, http.StatusOK)
	call(t, "GET", keysURL(a), auth, nil).Must(t, http.StatusOK)
}

func TestCloudRoleAssignmentsOverTheBoundAreRefusedBeforeProjectsAreLookedUp(t *testing.T) {
	a := testapp.Start(t)
	ids := make([]any, 50000)
	for i := range ids {
		ids[i] = "no-such-project"
	}
	body := map[string]any{"description": "many", "role_assignments": map[string]any{"deployment": []any{
		map[string]any{"organization_id": "default", "role_id": "deployment-viewer", "deployment_ids": ids}}}}
	res := createKey(t, a, owner, body)
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Raw, "at most 64 role assignments") {
		t.Fatalf("status %d, want 400 naming the bound before any project is looked up: %.300s", res.Status, res.Raw)
	}
}
