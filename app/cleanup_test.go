package app

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testclock"
)

// usageFixture is an organization 100 days on: "used-long-ago" used on
// day 0, "never-used" made on day 0, "used-recently" used on day 100,
// "new-never" made on day 100; every use flushed.
type usageFixture struct {
	a     *App
	owner *client
	ids   map[string]string
}

func newUsageFixture(t *testing.T) usageFixture {
	t.Helper()
	clock := testclock.New(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	a := startApp(t, t.TempDir(), clock.Now, func(c *Config) { c.UsageFlush = time.Hour })
	f := usageFixture{a: a, owner: a.as(t, basic(ownerAuth)), ids: map[string]string{}}
	enc := map[string]string{}
	mk := func(name string) {
		f.ids[name], enc[name] = f.owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": name, "expiration": "365d"})
	}
	for _, n := range []string{"used-long-ago", "never-used", "used-recently"} {
		mk(n)
	}
	a.as(t, apiKey(enc["used-long-ago"])).do("GET", "/api/v1/whoami", nil).must(t, 200)
	flush(t, a)
	clock.Add(100 * 24 * time.Hour)
	mk("new-never")
	a.as(t, apiKey(enc["used-recently"])).do("GET", "/api/v1/whoami", nil).must(t, 200)
	flush(t, a)
	return f
}

// names lists the names of a key list answer, in its order.
func names(r resp) []string {
	var out []string
	for _, k := range r.body["api_keys"].([]any) {
		out = append(out, k.(map[string]any)["name"].(string))
	}
	return out
}

func TestTheKeyListFiltersAndSortsByLastUse(t *testing.T) {
	f := newUsageFixture(t)
	tests := []struct {
		query string
		want  []string
	}{
		{"used_before=90d&sort=name", []string{"never-used", "used-long-ago"}},
		{"used_before=2026-06-02T00:00:00Z&sort=name", []string{"never-used", "used-long-ago"}},
		{"never_used=true&sort=name", []string{"never-used", "new-never"}},
		{"never_used=false&sort=name", []string{"used-long-ago", "used-recently"}},
		{"used_before=90d&never_used=true", []string{"never-used"}},
		{"sort=-last_used&never_used=false", []string{"used-recently", "used-long-ago"}},
		{"sort=last_used&never_used=false", []string{"used-long-ago", "used-recently"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.owner.do("GET", "/api/v1/orgs/default/api-keys?"+tt.query, nil).must(t, 200)
			if got := names(r); !slices.Equal(got, tt.want) {
				t.Fatalf("%v, want %v", got, tt.want)
			}
		})
	}
	r := f.owner.do("GET", "/api/v1/orgs/default/api-keys?sort=last_used", nil).must(t, 200)
	if got := names(r); len(got) != 4 || got[3] != "used-recently" || got[2] != "used-long-ago" {
		t.Fatalf("sort=last_used: %v, want the keys never used first, the most recent last", got)
	}
}

func TestBadUsageFiltersAreRefusedWithTheReason(t *testing.T) {
	f := newUsageFixture(t)
	for query, reason := range map[string]string{
		"used_before=yesterday": "[used_before] must be an RFC 3339 time",
		"used_before=0d":        "must be positive",
		"never_used=maybe":      "never_used must be true or false",
		"sort=last_use":         "cannot sort by [last_use]",
		"cursor=garbage":        "[cursor] is not a cursor",
	} {
		r := f.owner.do("GET", "/api/v1/orgs/default/api-keys?"+query, nil).must(t, 400)
		if got := r.raw; !strings.Contains(got, reason) {
			t.Errorf("%s: %s, want a reason with %q", query, got, reason)
		}
	}
}

func TestTheKeyListsCursorWalksEveryKeyOnceWhateverIsAddedMeanwhile(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	owner := a.as(t, basic(ownerAuth))
	for i := range 25 {
		owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": fmt.Sprintf("k%02d", i)})
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"sort": {"name"}, "size": {"10"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := owner.do("GET", "/api/v1/orgs/default/api-keys?"+q.Encode(), nil).must(t, 200)
		seen = append(seen, names(r)...)
		if page == 0 {
			// A key added before the cursor's place does not shift the walk.
			owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "a-first"})
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
		if page > 5 {
			t.Fatal("the walk does not end")
		}
	}
	if len(seen) != 25 || !slices.IsSorted(seen) || slices.Compact(slices.Clone(seen))[24] != "k24" {
		t.Fatalf("walked %d keys: %v", len(seen), seen)
	}
	first := owner.do("GET", "/api/v1/orgs/default/api-keys?sort=name&size=10", nil).must(t, 200)
	r := owner.do("GET", "/api/v1/orgs/default/api-keys?sort=created&cursor="+first.str("next_cursor"), nil).must(t, 400)
	if !strings.Contains(r.raw, "keep the sort while paging") {
		t.Fatalf("a cursor of another sort: %s", r.raw)
	}
}

func TestACleanupPreviewsItsMatchesThenRevokesThemAllUnderOneCorrelationID(t *testing.T) {
	f := newUsageFixture(t)
	f.a.addMember(t, ownerAuth, "default", "bob", "admin")
	admin := f.a.as(t, basic("bob:bob-password"))
	bulk := "/api/v1/orgs/default/api-keys/_bulk_delete"
	unused := map[string]any{"used_before": "90d"}

	r := admin.do("POST", bulk, map[string]any{"filter": unused, "dry_run": true}).must(t, 200)
	want := []any{f.ids["used-long-ago"], f.ids["never-used"]}
	if r.body["matched"] != 2.0 || !slices.Equal(r.body["ids"].([]any), want) {
		t.Fatalf("dry run: %s, want 2 matches %v", r.raw, want)
	}
	if r := f.owner.do("GET", "/api/v1/orgs/default/api-keys?status=invalidated", nil).must(t, 200); r.body["total"] != 0.0 {
		t.Fatalf("a dry run revoked keys: %s", r.raw)
	}

	r = admin.do("POST", bulk, map[string]any{"filter": unused, "expected_count": 3}).must(t, 409)
	if !strings.Contains(r.raw, "matches 2 keys now, not the 3 expected") {
		t.Fatalf("a changed count: %s", r.raw)
	}
	if r := f.owner.do("GET", "/api/v1/orgs/default/api-keys?status=invalidated", nil).must(t, 200); r.body["total"] != 0.0 {
		t.Fatalf("a refused cleanup revoked keys: %s", r.raw)
	}

	r = admin.do("POST", bulk, map[string]any{"filter": unused, "expected_count": 2}, "X-Request-Id", "cleanup-2026-09").must(t, 200)
	if r.body["matched"] != 2.0 || r.body["revoked"] != 2.0 {
		t.Fatalf("cleanup: %s", r.raw)
	}
	audit := f.owner.do("GET", "/api/v1/orgs/default/audit?type=KeyInvalidated", nil).must(t, 200)
	var revoked []any
	for _, e := range audit.body["entries"].([]any) {
		e := e.(map[string]any)
		if e["correlation_id"] != "cleanup-2026-09" || e["actor"].(map[string]any)["id"] != "bob" {
			t.Fatalf("audit entry %v", e)
		}
		revoked = append(revoked, e["key_id"])
	}
	slices.SortFunc(revoked, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	slices.SortFunc(want, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	if !slices.Equal(revoked, want) {
		t.Fatalf("revocations in the audit trail: %v, want %v", revoked, want)
	}
	if r := admin.do("POST", bulk, map[string]any{"filter": unused, "dry_run": true}).must(t, 200); r.body["matched"] != 0.0 {
		t.Fatalf("after the cleanup: %s", r.raw)
	}
}

func TestOnlyOwnersAndAdminsMayCleanUpByFilter(t *testing.T) {
	f := newUsageFixture(t)
	f.a.addMember(t, ownerAuth, "default", "vic", "viewer")
	_, keyOnly := f.owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "revoker", "expiration": "1d",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_api_key"}}}})
	bulk := "/api/v1/orgs/default/api-keys/_bulk_delete"
	preview := map[string]any{"filter": map[string]any{"never_used": true}, "dry_run": true}
	f.owner.do("POST", bulk, preview).must(t, 200)
	for who, auth := range map[string]string{"a viewer": basic("vic:vic-password"), "a key with manage_api_key": apiKey(keyOnly)} {
		r := f.a.as(t, auth).do("POST", bulk, preview)
		if r.status != 403 || !strings.Contains(r.raw, "owners and admins") {
			t.Errorf("%s: %d %s", who, r.status, r.raw)
		}
	}
}

func TestMalformedCleanupsAreRefusedWithTheReason(t *testing.T) {
	f := newUsageFixture(t)
	bulk := "/api/v1/orgs/default/api-keys/_bulk_delete"
	filter := map[string]any{"used_before": "90d"}
	for _, tt := range []struct {
		body   any
		reason string
	}{
		{map[string]any{"filter": filter}, `takes either`},
		{map[string]any{"filter": filter, "dry_run": true, "expected_count": 2}, `takes either`},
		{map[string]any{"dry_run": true}, "go with a [filter]"},
		{map[string]any{"filter": filter, "ids": []string{"x"}, "dry_run": true}, "not both"},
		{map[string]any{"filter": map[string]any{"status": "invalidated"}, "dry_run": true}, "matches no key to revoke"},
		{map[string]any{"filter": map[string]any{"used_before": "soon"}, "dry_run": true}, "[used_before]"},
		{map[string]any{"filter": map[string]any{"last_used": "1d"}, "dry_run": true}, "last_used"},
		{map[string]any{"filter": filter, "expected_count": -1}, "[expected_count]"},
	} {
		r := f.owner.do("POST", bulk, tt.body).must(t, 400)
		if !strings.Contains(r.raw, tt.reason) {
			t.Errorf("%v: %s, want a reason with %q", tt.body, r.raw, tt.reason)
		}
	}
}

func TestACleanupNeverReachesAnotherOrganizationsKeys(t *testing.T) {
	f := newUsageFixture(t)
	f.a.addMember(t, ownerAuth, "default", "mallory", "viewer")
	f.owner.do("DELETE", "/api/v1/orgs/default/members/mallory", nil).must(t, 200)
	mallory := f.a.as(t, basic("mallory:mallory-password"))
	mallory.do("POST", "/api/v1/orgs", map[string]any{"name": "mallorys"}).must(t, 201)
	unused := map[string]any{"filter": map[string]any{"used_before": "90d"}, "dry_run": true}
	r := mallory.do("POST", "/api/v1/orgs/default/api-keys/_bulk_delete", unused)
	if r.status != 404 || strings.Contains(r.raw, f.ids["never-used"]) {
		t.Fatalf("another organization's cleanup: %d %s", r.status, r.raw)
	}
	if r := mallory.do("POST", "/api/v1/orgs/mallorys/api-keys/_bulk_delete", unused).must(t, 200); r.body["matched"] != 0.0 {
		t.Fatalf("her own organization's cleanup matches %v keys", r.body["matched"])
	}
}
