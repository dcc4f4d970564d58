package app

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testclock"
)

func statuses(t *testing.T, r resp) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range r.body["api_keys"].([]any) {
		m := k.(map[string]any)
		out[m["name"].(string)] = m["status"].(string)
	}
	return out
}

func TestAsOfBeforeAndAfterARevokeGivesDifferentLists(t *testing.T) {
	c := testclock.New(time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC))
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	revoked, _ := alice.createKey(base, map[string]any{"name": "revoked-later"})
	alice.createKey(base, map[string]any{"name": "kept"})
	beforeRevoke := c.Now().Add(time.Minute)
	seqBefore := a.Runner.Applied()
	c.Add(time.Hour)
	alice.do("DELETE", base+"/"+revoked, nil).must(t, 200)
	c.Add(time.Hour)
	alice.createKey(base, map[string]any{"name": "created-after"})

	at := func(v string) map[string]string {
		return statuses(t, alice.do("GET", base+"?as_of="+url.QueryEscape(v), nil).must(t, 200))
	}
	tests := []struct {
		name string
		asOf string
		want map[string]string
	}{
		{"a time before the revoke", beforeRevoke.Format(time.RFC3339), map[string]string{"revoked-later": "active", "kept": "active"}},
		{"a sequence before the revoke", strconv.FormatUint(seqBefore, 10), map[string]string{"revoked-later": "active", "kept": "active"}},
		{"a time after the revoke", beforeRevoke.Add(90 * time.Minute).Format(time.RFC3339), map[string]string{"revoked-later": "invalidated", "kept": "active"}},
		{"now", c.Now().Add(time.Minute).Format(time.RFC3339), map[string]string{"revoked-later": "invalidated", "kept": "active", "created-after": "active"}},
		{"before anything", "2020-01-01T00:00:00Z", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice.t = t
			if got := at(tt.asOf); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("as of %s: %v, want %v", tt.asOf, got, tt.want)
			}
		})
	}
	alice.t = t
	// Before any key event the list is empty and has no time (not the
	// year 1).
	if r := alice.do("GET", base+"?as_of=2020-01-01T00:00:00Z", nil).must(t, 200); r.body["as_of"].(map[string]any)["time"] != nil {
		t.Fatalf("as_of before anything: %s", r.raw)
	}
	// Filters and the project route apply to the past list too.
	r := alice.do("GET", base+"?as_of="+strconv.FormatUint(seqBefore, 10)+"&name=kept", nil).must(t, 200)
	if r.body["total"].(float64) != 1 || r.body["as_of"].(map[string]any)["seq"].(float64) == 0 {
		t.Fatalf("as_of with a filter: %s", r.raw)
	}
}

func TestAsOfIsForOwners(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "ada", "admin")
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "other"}).must(t, 201)
	a.addMember(t, ownerAuth, "other", "olga", "owner")
	path := "/api/v1/orgs/default/api-keys?as_of=1"
	alice.do("GET", path, nil).must(t, 200)
	a.as(t, basic("ada:ada-password")).do("GET", path, nil).must(t, 403)
	a.as(t, basic("olga:olga-password")).do("GET", path, nil).must(t, 404)
	for _, bad := range []string{"0", "-3", "yesterday", "2026-13-01T00:00:00Z", "", time.Now().AddDate(1, 0, 0).Format(time.RFC3339)} {
		alice.do("GET", "/api/v1/orgs/default/api-keys?as_of="+url.QueryEscape(bad), nil).must(t, 400)
	}
}

func TestReplayDigestEqualsLive(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	alice.do("POST", "/api/v1/orgs/default/projects", map[string]any{"name": "web"}).must(t, 201)
	id, _ := alice.createKey("/api/v1/orgs/default/projects/web/api-keys", map[string]any{"name": "k1", "metadata": map[string]any{"a": 1}})
	alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "k2", "expiration": "never"})
	alice.do("PUT", "/api/v1/orgs/default/projects/web/api-keys/"+id, map[string]any{"metadata": map[string]any{"b": 2}}).must(t, 200)
	alice.do("DELETE", "/api/v1/orgs/default/projects/web/api-keys/"+id, nil).must(t, 200)
	alice.do("PUT", "/api/v1/orgs/default/contacts", map[string]any{"emails": []string{"ops@example.com"}}).must(t, 200)

	live := mustMatchRebuild(t, a)
	for _, name := range []string{"keys@5", "auth@1", "claims@1", "audit@2", "directory@2", "keyindex@3"} {
		if live[name] == "" {
			t.Errorf("no digest of %s: %v", name, live)
		}
	}

	// The live digests over HTTP, for the operator only.
	secret, err := a.Log.SharedSecret(t.Context(), rest.OperatorSecret)
	if err != nil {
		t.Fatal(err)
	}
	a.as(t, "").do("GET", "/api/v1/_operator/digests", nil).must(t, 401)
	alice.do("GET", "/api/v1/_operator/digests", nil).must(t, 401)
	a.as(t, "Bearer wrong").do("GET", "/api/v1/_operator/digests", nil).must(t, 401)
	got := a.as(t, "Bearer "+rest.OperatorToken(secret)).do("GET", "/api/v1/_operator/digests", nil).must(t, 200)
	if got.body["digests"].(map[string]any)["keys@5"] != live["keys@5"] {
		t.Fatalf("digests over HTTP: %s", got.raw)
	}
}

// An update written by an older keyplane (KeyUpdated v1, hand-written as it
// stored it) and one written today replay into the same key, live, after a
// restart from a snapshot and in a full rebuild.
func TestOldAndNewEventVersionsReplayTogether(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "old-and-new"})
	k, _ := a.Keys.Get(a.mustOrg(t, "default"), domain.KeyID(id))
	v1 := domain.Event{ID: "old-binary-update", Type: "KeyUpdated", Version: 1, Tenant: k.Tenant, AggType: domain.AggKey, AggID: id,
		Actor: domain.Actor{Kind: domain.ActorUser, ID: "alice", Name: "alice"}, Time: time.Now().UTC(),
		Data: []byte(`{"metadata":{"written_by":"v1"},"never_expires":true}`)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seqs, err := a.Log.Append(ctx, eventlog.Append{Event: v1, Expect: k.Seq})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Runner.WaitFor(ctx, seqs[0]); err != nil {
		t.Fatal(err)
	}
	alice.do("PUT", base+"/"+id, map[string]any{"metadata": map[string]any{"written_by": "today"}}).must(t, 200)

	check := func(a *App) {
		t.Helper()
		got := a.as(t, basic(ownerAuth)).do("GET", base+"/"+id, nil).must(t, 200)
		if got.body["expiration"] != nil || got.body["metadata"].(map[string]any)["written_by"] != "today" {
			t.Fatalf("key after both updates: %s", got.raw)
		}
		entries, _ := auditEntries(t, a.as(t, basic(ownerAuth)), "?key_id="+id+"&type=KeyUpdated&order=asc")
		if len(entries) != 2 || fmt.Sprint(entries[0]["change"].(map[string]any)["fields"]) != "[metadata expiration]" {
			t.Fatalf("audit of both updates: %v", entries)
		}
		mustMatchRebuild(t, a)
	}
	check(a)
	a.Close()
	b := startApp(t, dir, nil)
	if b.ResumedFrom() == 0 {
		t.Fatal("the restart did not use the snapshot")
	}
	check(b)
}

func (a *App) mustOrg(t *testing.T, ref string) domain.TenantID {
	t.Helper()
	o, ok := a.Dir.Org(ref)
	if !ok {
		t.Fatalf("no organization %s", ref)
	}
	return o.ID
}
