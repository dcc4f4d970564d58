package api_test

// The authorization matrix: protected operations of both surfaces, each
// tried by principals of every kind (members by password, by console
// session and by their keys; keys with narrowed descriptors and with
// manage_own_api_key; project users, their keys and tokens; another
// organization's), with the answer each must get, against a real keyplane.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testhttp"
)

// caller is a principal as a client presents it: its request headers.
type caller struct {
	name   string
	header []string
}

func basicCaller(name, pw string) caller {
	return caller{name + " by password", []string{"Authorization", basic(name + ":" + pw)}}
}

func keyCaller(name, encoded string) caller {
	return caller{name, []string{"Authorization", "ApiKey " + encoded}}
}

// sessionCaller logs name in to the console and presents the cookie and
// the session's CSRF token, as the console's scripts do.
func sessionCaller(t *testing.T, base, name, pw string) caller {
	t.Helper()
	res := testhttp.Call(t, "POST", base+"/console/login", "application/json", `{"name":"`+name+`","password":"`+pw+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login %s: %d", name, res.StatusCode)
	}
	var v struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return caller{name + " by session", []string{"Cookie", "keyplane_session=" + testhttp.SessionCookie(t, res).Value, "X-CSRF-Token", v.CSRFToken}}
}

func (c caller) with(header ...string) caller {
	return caller{c.name, append(append([]string(nil), c.header...), header...)}
}

func (c caller) do(t *testing.T, method, url string, body any) testhttp.Response {
	t.Helper()
	h := c.header
	if body != nil {
		h = append(append([]string(nil), h...), "Content-Type", "application/json")
	}
	return testhttp.Do(t, method, url, body, h...)
}

// newKey creates a key through the console API and returns its id and
// encoded credential.
func newKey(t *testing.T, base string, c caller, path string, body map[string]any) (id, encoded string) {
	t.Helper()
	r := c.do(t, "POST", base+path, body)
	if r.Status != 201 {
		t.Fatalf("%s creating a key at %s: %d %s", c.name, path, r.Status, r.Raw)
	}
	return r.Body["id"].(string), r.Body["encoded"].(string)
}

// esKey creates a key through the Elasticsearch API.
func esKey(t *testing.T, base string, c caller, body map[string]any) (id, encoded string) {
	t.Helper()
	r := c.do(t, "POST", base+"/_security/api_key", body)
	if r.Status != 200 {
		t.Fatalf("%s creating an ES key: %d %s", c.name, r.Status, r.Raw)
	}
	return r.Body["id"].(string), r.Body["encoded"].(string)
}

func mustStatus(t *testing.T, r testhttp.Response, want int, what string) testhttp.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: %d, want %d: %s", what, r.Status, want, r.Raw)
	}
	return r
}

// world is two organizations with members of every role, their keys, a
// project's users, their keys and tokens.
type world struct {
	base                                string
	owner, owner2, admin, viewer        caller
	ownerSess, adminSess                caller
	ownerKey, adminKey, viewerKey       caller
	narrowKey, ownKey                   caller
	ownerKeyID, adminKeyID, owner2KeyID string
	puser, puserKey, puserToken         caller
	otherKey, otherProjectKey           caller
	otherMember, otherSess              caller
	otherProject                        string
}

func buildWorld(t *testing.T) world {
	t.Helper()
	a := startApp(t)
	w := world{base: a.URL()}
	w.owner = basicCaller("alice", "alice-password")
	addMember(t, w.base, w.owner, "default", "olga", "olga-password", "owner")
	addMember(t, w.base, w.owner, "default", "adam", "adam-password", "admin")
	addMember(t, w.base, w.owner, "default", "vera", "vera-password", "admin")
	addMember(t, w.base, w.owner, "default", "bob", "bob-password", "viewer")
	w.owner2 = basicCaller("olga", "olga-password")
	w.admin = basicCaller("adam", "adam-password")
	w.viewer = basicCaller("vera", "vera-password")
	w.ownerSess = sessionCaller(t, w.base, "alice", "alice-password")
	w.adminSess = sessionCaller(t, w.base, "adam", "adam-password")

	const keys = "/api/v1/orgs/default/api-keys"
	var enc string
	w.ownerKeyID, enc = newKey(t, w.base, w.owner, keys, map[string]any{"name": "owner-key"})
	w.ownerKey = keyCaller("owner's key", enc)
	w.owner2KeyID, _ = newKey(t, w.base, w.owner2, keys, map[string]any{"name": "owner2-key"})
	w.adminKeyID, enc = newKey(t, w.base, w.admin, keys, map[string]any{"name": "admin-key"})
	w.adminKey = keyCaller("admin's key", enc)
	// Vera made her key as an admin; as a viewer now, it holds only what
	// a viewer may do.
	_, enc = newKey(t, w.base, w.viewer, keys, map[string]any{"name": "viewer-key"})
	w.viewerKey = keyCaller("viewer's key (made as an admin)", enc)
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/api/v1/orgs/default/members/vera", map[string]any{"role": "viewer"}), 200, "demote vera")
	_, enc = newKey(t, w.base, w.owner, keys, map[string]any{"name": "narrow",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"read_security"}}}})
	w.narrowKey = keyCaller("owner's read-only key", enc)
	_, enc = newKey(t, w.base, w.admin, keys, map[string]any{"name": "own-only",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_own_api_key"}}}})
	w.ownKey = keyCaller("admin's manage_own_api_key key", enc)

	// A project user with Elasticsearch's superuser role, its key and token.
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/pu", map[string]any{"password": "pu-password", "roles": []string{"superuser"}}), 200, "put pu")
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/pu2", map[string]any{"password": "pu2-password", "roles": []string{"superuser"}}), 200, "put pu2")
	w.puser = basicCaller("pu", "pu-password")
	_, enc = esKey(t, w.base, w.puser, map[string]any{"name": "pu-key"})
	w.puserKey = keyCaller("project user's key", enc)
	tok := mustStatus(t, w.puser.do(t, "POST", w.base+"/_security/oauth2/token",
		map[string]any{"grant_type": "password", "username": "pu", "password": "pu-password"}), 200, "token")
	w.puserToken = caller{"project user's token", []string{"Authorization", "Bearer " + tok.Body["access_token"].(string)}}

	// Another organization: bob's, with a project.
	bob := basicCaller("bob", "bob-password")
	mustStatus(t, bob.do(t, "POST", w.base+"/api/v1/orgs", map[string]any{"name": "bobco"}), 201, "bobco")
	pr := mustStatus(t, bob.do(t, "POST", w.base+"/api/v1/orgs/bobco/projects", map[string]any{"name": "secret-project"}), 201, "project")
	w.otherProject = pr.Body["id"].(string)
	_, enc = newKey(t, w.base, bob, "/api/v1/orgs/bobco/api-keys", map[string]any{"name": "bob-key"})
	w.otherKey = keyCaller("another organization's key", enc)
	_, enc = newKey(t, w.base, bob, "/api/v1/orgs/bobco/projects/secret-project/api-keys", map[string]any{"name": "bob-project-key"})
	w.otherProjectKey = keyCaller("another organization's project key", enc)
	// Carl is a member of bobco only.
	addMember(t, w.base, bob, "bobco", "carl", "carl-password", "admin")
	w.otherMember = basicCaller("carl", "carl-password")
	w.otherSess = sessionCaller(t, w.base, "carl", "carl-password")
	return w
}

// addMember invites name to org with role; name accepts with a login of
// its own.
func addMember(t *testing.T, base string, by caller, org, name, pw, role string) {
	t.Helper()
	testhttp.AddMember(t, base, by.header[1], org, testhttp.Member{Name: name, Password: pw, Role: role})
}

// TestAuthorizationMatrix: every refusal here held for some principal
// kinds and not others before authority was computed in one place.
func TestAuthorizationMatrix(t *testing.T) {
	w := buildWorld(t)
	const org = "/api/v1/orgs/default"
	ownerRole, viewerRole := map[string]any{"role": "owner"}, map[string]any{"role": "viewer"}
	inviteOwner := map[string]any{"email": "new-owner@example.com", "role": "owner"}
	widen := map[string]any{"role_descriptors": map[string]any{"all": map[string]any{"cluster": []string{"all"}}}, "expiration": "never"}
	grantAsOwner := map[string]any{"grant_type": "password", "username": "pu", "password": "pu-password", "run_as": "alice",
		"api_key": map[string]any{"name": "minted"}}
	const ccPath = "/_security/cross_cluster/api_key"
	ccKey := map[string]any{"name": "remote", "access": map[string]any{"search": []any{map[string]any{"names": []string{"logs-*"}}}}}
	ccProjectKey := map[string]any{"name": "remote", "type": "cross_cluster", "access": ccKey["access"]}

	tests := []struct {
		what         string
		who          caller
		method, path string
		body         any
		want         int
	}{
		// Only owners add, promote or demote owners, however an admin asks.
		{"an admin promotes themself", w.admin, "PUT", org + "/members/adam", ownerRole, 403},
		{"an admin promotes themself", w.adminSess, "PUT", org + "/members/adam", ownerRole, 403},
		{"an admin promotes themself", w.adminKey, "PUT", org + "/members/adam", ownerRole, 403},
		{"an admin invites an owner", w.admin, "POST", org + "/invitations", inviteOwner, 403},
		{"an admin invites an owner", w.adminSess, "POST", org + "/invitations", inviteOwner, 403},
		{"an admin invites an owner", w.adminKey, "POST", org + "/invitations", inviteOwner, 403},
		{"an admin demotes an owner", w.admin, "PUT", org + "/members/olga", viewerRole, 403},
		{"an admin demotes an owner", w.adminKey, "PUT", org + "/members/olga", viewerRole, 403},
		{"an admin removes an owner", w.admin, "DELETE", org + "/members/olga", nil, 403},
		{"an admin removes an owner", w.adminSess, "DELETE", org + "/members/olga", nil, 403},
		{"an admin removes an owner", w.adminKey, "DELETE", org + "/members/olga", nil, 403},
		{"an owner's narrowed key promotes a member", w.narrowKey, "PUT", org + "/members/vera", ownerRole, 403},
		{"an owner's narrowed key invites an owner", w.narrowKey, "POST", org + "/invitations", inviteOwner, 403},
		{"a viewer promotes themself", w.viewer, "PUT", org + "/members/vera", map[string]any{"role": "admin"}, 403},
		{"a viewer's key invites a member", w.viewerKey, "POST", org + "/invitations", map[string]any{"email": "x@example.com", "role": "viewer"}, 403},
		{"a project user's key invites a member", w.puserKey, "POST", org + "/invitations", map[string]any{"email": "x@example.com", "role": "viewer"}, 403},
		{"another organization's key promotes a member", w.otherKey, "PUT", org + "/members/vera", ownerRole, 404},
		{"another organization's key invites a member", w.otherKey, "POST", org + "/invitations", inviteOwner, 404},

		// A key's privileges, metadata and expiration are its owner's to change.
		{"an admin rewrites an owner's key", w.admin, "PUT", org + "/api-keys/" + w.ownerKeyID, widen, 403},
		{"an admin rewrites an owner's key", w.adminSess, "PUT", org + "/api-keys/" + w.ownerKeyID, widen, 403},
		{"an owner rewrites another owner's key", w.owner, "PUT", org + "/api-keys/" + w.owner2KeyID, widen, 403},
		{"an owner rewrites an admin's key", w.owner, "PUT", org + "/api-keys/" + w.adminKeyID, widen, 403},
		{"a key rewrites a key", w.adminKey, "PUT", org + "/api-keys/" + w.adminKeyID, widen, 400},
		{"a viewer rewrites their own key", w.viewer, "PUT", org + "/api-keys/" + w.adminKeyID, widen, 403},

		// manage_own_api_key acts on the key itself, not its owner's other keys.
		{"a manage_own_api_key key reads its owner's other key", w.ownKey, "GET", org + "/api-keys/" + w.adminKeyID, nil, 403},
		{"a manage_own_api_key key revokes its owner's other key", w.ownKey, "DELETE", org + "/api-keys/" + w.adminKeyID, nil, 403},
		{"a read-only key revokes a key", w.narrowKey, "DELETE", org + "/api-keys/" + w.adminKeyID, nil, 403},
		{"a viewer revokes a key", w.viewer, "DELETE", org + "/api-keys/" + w.adminKeyID, nil, 403},
		{"a viewer's key revokes a key", w.viewerKey, "DELETE", org + "/api-keys/" + w.adminKeyID, nil, 403},
		{"another organization's key revokes a key", w.otherKey, "DELETE", org + "/api-keys/" + w.adminKeyID, nil, 404},
		{"another organization's project key lists keys", w.otherProjectKey, "GET", org + "/api-keys", nil, 404},

		// Cross-cluster keys: manage_security, and a person (or a token), never a key.
		{"a viewer creates a cross-cluster key", w.viewer, "POST", ccPath, ccKey, 403},
		{"a viewer creates a cross-cluster key", w.viewer, "POST", org + "/projects/default/api-keys", ccProjectKey, 403},
		{"an owner's read-only key creates a cross-cluster key", w.narrowKey, "POST", ccPath, ccKey, 403},
		{"a manage_own_api_key key creates a cross-cluster key", w.ownKey, "POST", ccPath, ccKey, 403},
		{"an admin's key creates a cross-cluster key", w.adminKey, "POST", ccPath, ccKey, 400},
		{"an admin's key creates a cross-cluster key", w.adminKey, "POST", org + "/projects/default/api-keys", ccProjectKey, 400},
		{"a project superuser's key creates a cross-cluster key", w.puserKey, "POST", ccPath, ccKey, 400},

		// Reading past states is the owners'.
		{"an admin reads a past key list", w.admin, "GET", org + "/api-keys?as_of=1", nil, 403},
		{"an owner's read-only key reads a past key list", w.narrowKey, "GET", org + "/api-keys?as_of=1", nil, 403},

		// run_as: a project realm reaches only its own users, never members;
		// es-security-runas-user is honoured or refused, never ignored.
		{"a project superuser grants a key owned by the organization's owner", w.puser, "POST", "/_security/api_key/grant", grantAsOwner, 403},
		{"a project superuser runs as the organization's owner", w.puser.with("es-security-runas-user", "alice"), "GET", "/_security/_authenticate", nil, 403},
		{"a viewer runs as a project superuser", w.viewer.with("es-security-runas-user", "pu"), "GET", "/_security/_authenticate", nil, 403},
		{"a console request names a user to run as", w.owner.with("es-security-runas-user", "pu"), "GET", org + "/api-keys", nil, 403},

		// The other tenant's project.
		{"a member asks for another organization's project", w.admin, "GET", "/projects/" + w.otherProject + "/_security/_authenticate", nil, 401},
		{"a key asks for another organization's project", w.adminKey, "GET", "/projects/" + w.otherProject + "/_security/_authenticate", nil, 401},
		{"a project user's key asks for another organization's project", w.puserKey, "GET", "/projects/" + w.otherProject + "/_security/api_key", nil, 401},
		{"a project user's token asks for another organization's project", w.puserToken, "GET", "/projects/" + w.otherProject + "/_security/api_key", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.what+" as "+tt.who.name, func(t *testing.T) {
			r := tt.who.do(t, tt.method, w.base+tt.path, tt.body)
			if r.Status != tt.want {
				t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, r.Status, tt.want, r.Raw)
			}
			if strings.Contains(r.Raw, "secret-project") || strings.Contains(r.Raw, "bobco") {
				t.Fatalf("the answer names another tenant's resource: %s", r.Raw)
			}
		})
	}

	// What each may do, after the refusals above changed nothing.
	allowed := []struct {
		what         string
		who          caller
		method, path string
		body         any
		want         int
	}{
		{"a key lists keys", w.ownerKey, "GET", org + "/api-keys", nil, 200},
		{"a session lists keys", w.ownerSess, "GET", org + "/api-keys", nil, 200},
		{"an admin revokes an owner's key", w.admin, "DELETE", org + "/api-keys/" + w.owner2KeyID, nil, 200},
		{"an owner updates their own key", w.owner, "PUT", org + "/api-keys/" + w.ownerKeyID, map[string]any{"metadata": map[string]any{"team": "a"}}, 200},
		{"a project superuser runs as another project user", w.puser.with("es-security-runas-user", "pu2"), "GET", "/_security/_authenticate", nil, 200},
		{"an owner invites an owner", w.owner, "POST", org + "/invitations", inviteOwner, 201},
		{"an owner's key promotes a member", w.ownerKey, "PUT", org + "/members/vera", ownerRole, 200},
		{"an admin creates a cross-cluster key", w.admin, "POST", ccPath, ccKey, 200},
		{"an admin creates a cross-cluster key", w.adminSess, "POST", org + "/projects/default/api-keys", ccProjectKey, 201},
		{"a project superuser creates a cross-cluster key", w.puser, "POST", ccPath, ccKey, 200},
		{"a project superuser's token creates a cross-cluster key", w.puserToken, "POST", ccPath, ccKey, 200},
	}
	for _, tt := range allowed {
		t.Run(tt.what+" as "+tt.who.name, func(t *testing.T) {
			if r := tt.who.do(t, tt.method, w.base+tt.path, tt.body); r.Status != tt.want {
				t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, r.Status, tt.want, r.Raw)
			}
		})
	}
}

func isPassword(c caller) bool { return strings.HasPrefix(c.header[1], "Basic ") }

func TestAManageOwnAPIKeyKeyListsOnlyItself(t *testing.T) {
	w := buildWorld(t)
	r := mustStatus(t, w.ownKey.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys", nil), 200, "list")
	keys := r.Body["api_keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["name"] != "own-only" {
		t.Fatalf("a manage_own_api_key key lists %s", r.Raw)
	}
	// Its own key it may read and revoke.
	id := keys[0].(map[string]any)["id"].(string)
	mustStatus(t, w.ownKey.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys/"+id, nil), 200, "read itself")
	mustStatus(t, w.ownKey.do(t, "DELETE", w.base+"/api/v1/orgs/default/api-keys/"+id, nil), 200, "revoke itself")
}

func TestRunAsHeaderRunsWithTheNamedUsersRights(t *testing.T) {
	w := buildWorld(t)
	r := mustStatus(t, w.puser.with("es-security-runas-user", "pu2").do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "run as")
	if r.Body["username"] != "pu2" {
		t.Fatalf("ran as %v, want pu2: %s", r.Body["username"], r.Raw)
	}
}

func TestAnswersWithoutValidCredentialsAreAlikeForUnknownAndForeignProjects(t *testing.T) {
	w := buildWorld(t)
	unknown := "/projects/no-such-project/_security/_authenticate"
	foreign := "/projects/" + w.otherProject + "/_security/_authenticate"
	for _, c := range []caller{
		{"nobody", nil},
		basicCaller("adam", "wrong-password"),
		basicCaller("nobody-at-all", "whatever-password"),
		keyCaller("a made-up key", base64.StdEncoding.EncodeToString([]byte("abc:def"))),
		w.admin,
	} {
		a, b := c.do(t, "GET", w.base+unknown, nil), c.do(t, "GET", w.base+foreign, nil)
		if a.Status != b.Status || a.Status != http.StatusUnauthorized {
			t.Errorf("%s: unknown project %d, foreign project %d, want 401 both", c.name, a.Status, b.Status)
		}
		ra, rb := strings.ReplaceAll(a.Raw, "no-such-project", "P"), strings.ReplaceAll(b.Raw, w.otherProject, "P")
		if ra != rb {
			t.Errorf("%s: the answers differ:\n%s\n%s", c.name, a.Raw, b.Raw)
		}
	}
}

func TestHasPrivilegesHonoursAllowRestrictedIndices(t *testing.T) {
	w := buildWorld(t)
	ask := func(c caller, allow bool) bool {
		r := mustStatus(t, c.do(t, "POST", w.base+"/_security/user/_has_privileges", map[string]any{
			"index": []map[string]any{{"names": []string{".security"}, "privileges": []string{"read"}, "allow_restricted_indices": allow}}}), 200, "has_privileges")
		return r.Body["has_all_requested"].(bool)
	}
	if ask(w.owner, false) || ask(w.owner, true) {
		t.Error("an owner, whose role does not allow restricted indices, has read on .security")
	}
	if !ask(w.puser, true) {
		t.Error("a superuser has no read on .security")
	}
}

func TestADeletedProjectUsersKeysAndTokensDoNotComeBackWithTheName(t *testing.T) {
	w := buildWorld(t)
	pu2 := basicCaller("pu2", "pu2-password")
	_, enc := esKey(t, w.base, pu2, map[string]any{"name": "old-key"})
	oldKey := keyCaller("old key", enc)
	tok := mustStatus(t, pu2.do(t, "POST", w.base+"/_security/oauth2/token",
		map[string]any{"grant_type": "password", "username": "pu2", "password": "pu2-password"}), 200, "token")
	oldToken := caller{"old token", []string{"Authorization", "Bearer " + tok.Body["access_token"].(string)}}
	mustStatus(t, oldKey.do(t, "GET", w.base+"/_security/api_key", nil), 200, "old key before")
	mustStatus(t, oldToken.do(t, "GET", w.base+"/_security/api_key", nil), 200, "old token before")

	mustStatus(t, w.owner.do(t, "DELETE", w.base+"/_security/user/pu2", nil), 200, "delete pu2")
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/pu2", map[string]any{"password": "new-pu2-password", "roles": []string{"superuser"}}), 200, "recreate pu2")

	mustStatus(t, oldKey.do(t, "GET", w.base+"/_security/api_key", nil), 403, "the old key, after the name was taken again")
	mustStatus(t, oldToken.do(t, "GET", w.base+"/_security/api_key", nil), 401, "the old token, after the name was taken again")
	// The new user's own credentials work.
	mustStatus(t, basicCaller("pu2", "new-pu2-password").do(t, "GET", w.base+"/_security/api_key", nil), 200, "the new user")
}

func TestAProjectUserNeverShadowsAMember(t *testing.T) {
	w := buildWorld(t)
	// A new project user may not take a member's name; the answer names
	// only this organization's member, never logins elsewhere ...
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/adam", map[string]any{"password": "local-adam-password", "roles": []string{"superuser"}}), 409, "project user adam")
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/carol", map[string]any{"password": "local-carol-password", "roles": []string{"superuser"}}), 200, "project user carol, a login elsewhere")
	// ... and one that came first does not shadow a member who joins
	// later: Basic with the name is the member's.
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/zed", map[string]any{"password": "local-zed-password", "roles": []string{"superuser"}}), 200, "project user zed")
	local := basicCaller("zed", "local-zed-password")
	tok := mustStatus(t, local.do(t, "POST", w.base+"/_security/oauth2/token",
		map[string]any{"grant_type": "password", "username": "zed", "password": "local-zed-password"}), 200, "token")
	localToken := caller{"project user zed's token", []string{"Authorization", "Bearer " + tok.Body["access_token"].(string)}}
	addMember(t, w.base, w.owner, "default", "zed", "member-zed-password", "admin")
	member := basicCaller("zed", "member-zed-password")
	r := mustStatus(t, member.do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "member zed")
	if r.Body["authentication_realm"].(map[string]any)["name"] != "native" {
		t.Fatalf("member zed authenticated as %s", r.Raw)
	}
	mustStatus(t, local.do(t, "GET", w.base+"/_security/_authenticate", nil), 401, "project user zed by password")
	r = mustStatus(t, localToken.do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "project user zed by token")
	if r.Body["authentication_realm"].(map[string]any)["name"] != "default_native" {
		t.Fatalf("project user zed's token authenticated as %s", r.Raw)
	}
	// The two never share an Idempotency-Key claim.
	create := func(c caller) string {
		r := c.with("Idempotency-Key", "same-key").do(t, "POST", w.base+"/_security/api_key", map[string]any{"name": "k"})
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Raw)
		}
		return r.Body["id"].(string)
	}
	if a, b := create(member), create(localToken); a == b {
		t.Fatalf("member and project user of one name share the key %s", a)
	}
}

// TestAuthorizationGrid sweeps operations of both surfaces against every
// kind of principal. Each row is one operation; each column one principal:
//
//	owner, owner's session, owner's key, admin, admin's session, admin's
//	key, viewer, viewer's key (made as an admin), the owner's read-only
//	key, the admin's manage_own_api_key key, a project superuser, its key,
//	its token, another organization's key and project key, and member
//	by password and by session.
//
// Sessions are the console's: the Elasticsearch surface does not take
// them (401). A key creating a key makes a derived key, which must be
// asked without privileges (400). Carl is a member of another organization
// only, by password and by session.
func TestAuthorizationGrid(t *testing.T) {
	w := buildWorld(t)
	cols := []caller{w.owner, w.ownerSess, w.ownerKey, w.admin, w.adminSess, w.adminKey, w.viewer, w.viewerKey,
		w.narrowKey, w.ownKey, w.puser, w.puserKey, w.puserToken, w.otherKey, w.otherProjectKey, w.otherMember, w.otherSess}
	const org, es = "/api/v1/orgs/default", "/projects/default/_security"
	invite := map[string]any{"email": "grid@example.com", "role": "viewer"}
	rows := []struct {
		method, path string
		body         any
		want         string
	}{
		{"GET", org + "/api-keys", nil, "200 200 200 200 200 200 200 200 200 200 401 403 401 404 404 404 404"},
		{"GET", org + "/members", nil, "200 200 200 200 200 200 200 200 200 403 401 403 401 404 404 404 404"},
		{"GET", org + "/projects", nil, "200 200 200 200 200 200 200 200 200 403 401 200 401 404 404 404 404"},
		{"GET", org + "/audit", nil, "200 200 200 200 200 200 403 403 403 403 401 403 401 404 404 404 404"},
		{"GET", org + "/invitations", nil, "200 200 200 200 200 200 200 200 200 403 401 403 401 404 404 404 404"},
		{"POST", org + "/invitations", invite, "201 201 201 201 201 201 403 403 403 403 401 403 401 404 404 404 404"},
		{"PUT", org + "/contacts", map[string]any{"emails": []string{"ops@example.com"}}, "200 200 200 200 200 200 403 403 403 403 401 403 401 404 404 404 404"},
		{"GET", org + "/policy", nil, "200 200 200 200 200 200 200 200 200 403 401 403 401 404 404 404 404"},
		{"PUT", org + "/policy", map[string]any{"max_grace": "7d"}, "200 200 200 403 403 403 403 403 403 403 401 403 401 404 404 404 404"},
		{"PUT", org + "/members/bob", map[string]any{"role": "viewer"}, "200 200 200 200 200 200 403 403 403 403 401 403 401 404 404 404 404"},
		{"POST", org + "/api-keys", map[string]any{"name": "m"}, "201 201 400 201 201 400 403 403 403 400 401 403 401 404 404 404 404"},
		{"POST", org + "/api-keys/_bulk_delete", map[string]any{"ids": []string{"no-such-key"}}, "200 200 200 200 200 200 403 403 403 200 401 403 401 404 404 404 404"},
		{"GET", es + "/api_key", nil, "200 401 200 200 401 200 200 200 200 403 200 200 200 401 401 401 401"},
		{"POST", es + "/_query/api_key", map[string]any{}, "200 401 200 200 401 200 200 200 200 200 200 200 200 401 401 401 401"},
		{"POST", es + "/api_key", map[string]any{"name": "m"}, "200 401 400 200 401 400 403 403 403 400 200 400 200 401 401 401 401"},
		{"DELETE", es + "/api_key", map[string]any{"ids": []string{"no-such-key"}}, "200 401 200 200 401 200 403 403 403 403 200 200 200 401 401 401 401"},
		{"POST", es + "/user/_has_privileges", map[string]any{"cluster": []string{"monitor"}}, "200 401 200 200 401 200 200 200 200 200 200 200 200 401 401 401 401"},
		{"GET", es + "/user", nil, "200 401 200 200 401 200 200 200 200 403 200 200 200 401 401 401 401"},
		{"PUT", es + "/role/r1", map[string]any{"cluster": []string{"monitor"}}, "200 401 200 200 401 200 403 403 403 403 200 200 200 401 401 401 401"},
		// Last: a key that rotates itself keeps working through the grace.
		{"POST", "/api/v1/api-keys/_self/_rotate", map[string]any{"grace": "1h"}, "400 400 201 400 400 201 400 403 403 201 401 201 401 201 201 400 400"},
	}
	for _, row := range rows {
		want := strings.Fields(row.want)
		if len(want) != len(cols) {
			t.Fatalf("%s %s: %d answers for %d principals", row.method, row.path, len(want), len(cols))
		}
		for i, c := range cols {
			if strings.HasSuffix(row.path, "/_rotate") {
				// A key rotating itself must send one.
				c = c.with("Idempotency-Key", "grid-"+c.name)
			}
			r := c.do(t, row.method, w.base+row.path, row.body)
			// A password that fails every time is soon throttled: 429 is
			// the 401 of a principal past its free failures.
			if got := strconv.Itoa(r.Status); got != want[i] && !(want[i] == "401" && got == "429" && isPassword(c)) {
				t.Errorf("%s %s as %s: %s, want %s: %.300s", row.method, row.path, c.name, got, want[i], r.Raw)
			}
			if strings.Contains(r.Raw, "secret-project") || strings.Contains(r.Raw, "bobco") {
				t.Errorf("%s %s as %s names another tenant's resource: %s", row.method, row.path, c.name, r.Raw)
			}
		}
	}
}

func TestAMemberInvitedBackDoesNotGetTheirOldKeysOrTokensBack(t *testing.T) {
	w := buildWorld(t)
	_, enc := newKey(t, w.base, w.admin, "/api/v1/orgs/default/api-keys", map[string]any{"name": "before-removal"})
	oldKey := keyCaller("adam's key from before", enc)
	tok := mustStatus(t, w.admin.do(t, "POST", w.base+"/_security/oauth2/token",
		map[string]any{"grant_type": "password", "username": "adam", "password": "adam-password"}), 200, "token")
	oldToken := caller{"adam's token from before", []string{"Authorization", "Bearer " + tok.Body["access_token"].(string)}}
	mustStatus(t, oldKey.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys", nil), 200, "old key before")
	mustStatus(t, oldToken.do(t, "GET", w.base+"/_security/api_key", nil), 200, "old token before")

	mustStatus(t, w.owner.do(t, "DELETE", w.base+"/api/v1/orgs/default/members/adam", nil), 200, "remove adam")
	mustStatus(t, oldKey.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys", nil), 403, "old key after removal")
	inv := mustStatus(t, w.owner.do(t, "POST", w.base+"/api/v1/orgs/default/invitations",
		map[string]any{"email": "adam@example.com", "role": "admin"}), 201, "invite adam back")
	mustStatus(t, w.admin.do(t, "POST", w.base+"/api/v1/invitations/_accept", map[string]any{"token": inv.Body["token"]}), 200, "adam accepts")

	mustStatus(t, w.admin.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys", nil), 200, "adam, back")
	mustStatus(t, oldKey.do(t, "GET", w.base+"/api/v1/orgs/default/api-keys", nil), 403, "a key from before the removal")
	mustStatus(t, oldToken.do(t, "GET", w.base+"/_security/api_key", nil), 401, "a token from before the removal")
}

// A login of another organization, right password or wrong, gets the same
// answer from a project that is not its: its password is not checked
// there, so no project is an oracle (or a fresh guessing budget) for it,
// and the answer tells nothing of which names the project has.
func TestAProjectIsNoPasswordOracleForOtherLogins(t *testing.T) {
	w := buildWorld(t)
	right := basicCaller("carl", "carl-password").do(t, "GET", w.base+"/projects/default/_security/_authenticate", nil)
	wrong := basicCaller("carl", "not-carls-password").do(t, "GET", w.base+"/projects/default/_security/_authenticate", nil)
	member := basicCaller("adam", "not-adams-password").do(t, "GET", w.base+"/projects/default/_security/_authenticate", nil)
	puser := basicCaller("pu", "not-pus-password").do(t, "GET", w.base+"/projects/default/_security/_authenticate", nil)
	for _, r := range []testhttp.Response{right, wrong} {
		if r.Status != 401 || r.Raw != strings.ReplaceAll(member.Raw, "adam", "carl") {
			t.Errorf("carl: %d %s, want the answer a wrong password of a member gets: %s", r.Status, r.Raw, member.Raw)
		}
	}
	if puser.Raw != strings.ReplaceAll(member.Raw, "adam", "pu") {
		t.Errorf("a project user's wrong password answers %s, a member's %s", puser.Raw, member.Raw)
	}
}

// A departing admin cannot come back through an invitation they left
// pending: removing or demoting a member withdraws the invitations they
// made (by password, session or key).
func TestRemovingOrDemotingAMemberWithdrawsTheirInvitations(t *testing.T) {
	w := buildWorld(t)
	invite := func(by caller) string {
		r := mustStatus(t, by.do(t, "POST", w.base+"/api/v1/orgs/default/invitations",
			map[string]any{"email": "way-back@example.com", "role": "admin"}), 201, by.name+" invites")
		return r.Body["token"].(string)
	}
	accept := func(token, name string) int {
		return testhttp.Do(t, "POST", w.base+"/api/v1/invitations/_accept",
			map[string]any{"token": token, "name": name, "password": name + "-password"}, "Content-Type", "application/json").Status
	}
	byPassword, byKey := invite(w.admin), invite(w.adminKey)
	olgas := invite(w.owner2)
	mustStatus(t, w.owner.do(t, "DELETE", w.base+"/api/v1/orgs/default/members/adam", nil), 200, "remove adam")
	if s := accept(byPassword, "back-door-1"); s != 404 {
		t.Errorf("an invitation of a removed admin was accepted: %d", s)
	}
	if s := accept(byKey, "back-door-2"); s != 404 {
		t.Errorf("an invitation made by a removed admin's key was accepted: %d", s)
	}
	// Vera was made admin and demoted in buildWorld; promote her, let
	// her invite, demote her again.
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/api/v1/orgs/default/members/vera", map[string]any{"role": "admin"}), 200, "promote vera")
	veras := invite(w.viewer)
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/api/v1/orgs/default/members/vera", map[string]any{"role": "viewer"}), 200, "demote vera")
	if s := accept(veras, "back-door-3"); s != 404 {
		t.Errorf("an invitation of a demoted admin was accepted: %d", s)
	}
	// Others' invitations stand.
	if s := accept(olgas, "olgas-invitee"); s != 200 {
		t.Errorf("an invitation of a member still in place was refused: %d", s)
	}
}

// An access token ends with the password it was granted under, as a
// console session does.
func TestAPasswordChangeEndsTheAccessTokensOfTheOldPassword(t *testing.T) {
	w := buildWorld(t)
	token := func(name, pw string) caller {
		r := mustStatus(t, basicCaller(name, pw).do(t, "POST", w.base+"/_security/oauth2/token",
			map[string]any{"grant_type": "password", "username": name, "password": pw}), 200, "token of "+name)
		return caller{name + "'s token", []string{"Authorization", "Bearer " + r.Body["access_token"].(string)}}
	}
	member, puser := token("adam", "adam-password"), token("pu2", "pu2-password")
	mustStatus(t, member.do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "member's token before")
	mustStatus(t, puser.do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "project user's token before")

	mustStatus(t, w.admin.do(t, "PUT", w.base+"/api/v1/users/_password",
		map[string]any{"current_password": "adam-password", "password": "adam-new-password"}), 200, "adam changes his password")
	mustStatus(t, w.owner.do(t, "PUT", w.base+"/_security/user/pu2", map[string]any{"password": "pu2-new-password", "roles": []string{"superuser"}}), 200, "pu2's password changed")

	mustStatus(t, member.do(t, "GET", w.base+"/_security/_authenticate", nil), 401, "member's token after the change")
	mustStatus(t, puser.do(t, "GET", w.base+"/_security/_authenticate", nil), 401, "project user's token after the change")
	mustStatus(t, token("adam", "adam-new-password").do(t, "GET", w.base+"/_security/_authenticate", nil), 200, "a token of the new password")
}
