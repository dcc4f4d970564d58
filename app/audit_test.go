package app

import (
	"fmt"
	"strings"
	"testing"
)

// auditEntries reads one audit page and returns its entries.
func auditEntries(t *testing.T, c *client, query string) ([]map[string]any, resp) {
	t.Helper()
	r := c.do("GET", "/api/v1/orgs/default/audit"+query, nil).must(t, 200)
	var out []map[string]any
	for _, e := range r.body["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out, r
}

func field(e map[string]any, path ...string) string {
	var v any = e
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func TestAuditTrailShowsWhoDidWhatToAKeyFromWhere(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	bob := a.as(t, basic("bob:bob-password"))
	base := "/api/v1/orgs/default/projects/default/api-keys"

	created := alice.do("POST", base, map[string]any{"name": "deploy", "expiration": "30d"}, "X-Request-Id", "req-create-1", "User-Agent", "audit-test/1").must(t, 201)
	if created.header.Get("X-Request-Id") != "req-create-1" {
		t.Fatalf("X-Request-Id not echoed: %q", created.header.Get("X-Request-Id"))
	}
	id, secret := created.str("id"), created.str("api_key")
	updated := alice.do("PUT", base+"/"+id, map[string]any{"metadata": map[string]any{"team": "sre"}}, "User-Agent", "audit-test/2").must(t, 200)
	generated := updated.header.Get("X-Request-Id")
	if generated == "" {
		t.Fatal("a request without X-Request-Id gets no generated one")
	}
	bob.do("DELETE", base+"/"+id, nil, "X-Request-Id", "req-revoke-1", "User-Agent", "audit-test/3").must(t, 200)

	entries, r := auditEntries(t, alice, "?key_id="+id)
	if len(entries) != 3 {
		t.Fatalf("want 3 entries for the key, got %s", r.raw)
	}
	want := []struct{ typ, actor, corr, ua string }{
		{"KeyInvalidated", "bob", "req-revoke-1", "audit-test/3"},
		{"KeyUpdated", "alice", generated, "audit-test/2"},
		{"KeyCreated", "alice", "req-create-1", "audit-test/1"},
	}
	for i, w := range want {
		e := entries[i]
		if field(e, "type") != w.typ || field(e, "actor", "id") != w.actor || field(e, "actor", "kind") != "user" ||
			field(e, "correlation_id") != w.corr || field(e, "source", "user_agent") != w.ua ||
			field(e, "source", "addr") != "127.0.0.1" || field(e, "time") == "" || field(e, "key_id") != id || field(e, "project") == "" {
			t.Fatalf("entry %d = %v, want %+v", i, e, w)
		}
	}
	if c := entries[2]["change"].(map[string]any); c["name"] != "deploy" || c["scope"] != "project" || c["expiration"] == "" {
		t.Fatalf("KeyCreated change = %v", c)
	}
	if strings.Contains(r.raw, secret) || strings.Contains(r.raw, "hash") {
		t.Fatalf("the audit trail shows key material: %s", r.raw)
	}

	// A key acting for its owner is recorded as the key, with the owner.
	_, enc := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "automation"})
	key := a.as(t, apiKey(enc))
	childID, _ := key.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "child", "role_descriptors": map[string]any{"none": map[string]any{}}})
	byKey, _ := auditEntries(t, alice, "?key_id="+childID)
	if len(byKey) != 1 || field(byKey[0], "actor", "kind") != "api_key" || field(byKey[0], "actor", "name") != "automation" ||
		field(byKey[0], "actor", "user") != "alice" {
		t.Fatalf("a key's action = %v", byKey)
	}
}

func TestAuditTrailFiltersAndPages(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	alice.do("POST", "/api/v1/orgs/default/projects", map[string]any{"name": "web"}).must(t, 201)
	var ids []string
	for i := range 5 {
		id, _ := alice.createKey("/api/v1/orgs/default/projects/web/api-keys", map[string]any{"name": fmt.Sprint("k", i)})
		ids = append(ids, id)
	}
	alice.do("DELETE", "/api/v1/orgs/default/projects/web/api-keys/"+ids[0], nil).must(t, 200)

	got, _ := auditEntries(t, alice, "?project=web&type=KeyCreated,KeyInvalidated&order=asc")
	if len(got) != 6 || field(got[0], "type") != "KeyCreated" || field(got[5], "type") != "KeyInvalidated" {
		t.Fatalf("project filter: %v", got)
	}
	// Page through the same selection two at a time: every entry once, in order.
	var seen []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page, r := auditEntries(t, alice, "?project=web&type=KeyCreated&order=asc&size=2"+cursor)
		for _, e := range page {
			seen = append(seen, field(e, "key_id"))
		}
		next := r.str("next_cursor")
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("paged %v, want %v", seen, ids)
	}
	if got, _ := auditEntries(t, alice, "?actor=nobody"); len(got) != 0 {
		t.Fatalf("unknown actor matched %v", got)
	}
	if got, _ := auditEntries(t, alice, "?until=2000-01-01T00:00:00Z"); len(got) != 0 {
		t.Fatalf("until before everything matched %v", got)
	}

	for _, bad := range []struct {
		query  string
		status int
	}{
		{"?since=yesterday", 400},
		{"?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", 400},
		{"?cursor=not-a-cursor", 400},
		{"?size=0", 400},
		{"?size=100000", 400},
		{"?order=sideways", 400},
		{"?colour=blue", 400},
		{"?project=nope", 404},
	} {
		alice.do("GET", "/api/v1/orgs/default/audit"+bad.query, nil).must(t, bad.status)
	}
}

func TestAuditTrailIsForOwnersAndAdminsOfTheOrganizationOnly(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	for _, m := range []struct{ name, role string }{{"ada", "admin"}, {"vic", "viewer"}} {
		a.addMember(t, ownerAuth, "default", m.name, m.role)
	}
	alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "alice-key"})
	// Mallory owns another organization.
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "evilcorp"}).must(t, 201)
	a.addMember(t, ownerAuth, "evilcorp", "mallory", "owner")
	mallory := a.as(t, basic("mallory:mallory-password"))
	mallory.createKey("/api/v1/orgs/evilcorp/api-keys", map[string]any{"name": "mallory-key"})
	_, projectKey := alice.createKey("/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "p"})

	a.as(t, basic("ada:ada-password")).do("GET", "/api/v1/orgs/default/audit", nil).must(t, 200)
	a.as(t, basic("vic:vic-password")).do("GET", "/api/v1/orgs/default/audit", nil).must(t, 403)
	a.as(t, apiKey(projectKey)).do("GET", "/api/v1/orgs/default/audit", nil).must(t, 403)
	mallory.do("GET", "/api/v1/orgs/default/audit", nil).must(t, 404)
	a.as(t, "").do("GET", "/api/v1/orgs/default/audit", nil).must(t, 401)

	// Each owner's trail holds only their organization's events.
	r := mallory.do("GET", "/api/v1/orgs/evilcorp/audit?size=1000", nil).must(t, 200)
	if !strings.Contains(r.raw, "mallory-key") || strings.Contains(r.raw, "alice-key") {
		t.Fatalf("evilcorp's trail: %s", r.raw)
	}
	r = alice.do("GET", "/api/v1/orgs/default/audit?size=1000", nil).must(t, 200)
	if strings.Contains(r.raw, "mallory-key") || strings.Contains(r.raw, "evilcorp") {
		t.Fatalf("default's trail shows another tenant: %s", r.raw)
	}
}
