package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testclock"
)

func TestKeyLifecycleInBothScopes(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	for _, base := range []string{"/api/v1/orgs/default/api-keys", "/api/v1/orgs/default/projects/default/api-keys"} {
		t.Run(base, func(t *testing.T) {
			alice.t = t
			before := time.Now()
			r := alice.do("POST", base, map[string]any{"name": "ci-deploy", "metadata": map[string]any{"team": "infra"}}).must(t, 201)
			id, enc := r.str("id"), r.str("encoded")
			if r.str("api_key") == "" || enc == "" || id == "" {
				t.Fatalf("create answer lacks fields: %s", r.raw)
			}
			exp := time.UnixMilli(int64(r.body["expiration"].(float64)))
			if d := exp.Sub(before); d < 89*24*time.Hour || d > 91*24*time.Hour {
				t.Fatalf("default expiration is %v away, want three months", d)
			}

			key := a.as(t, apiKey(enc))
			got := key.do("GET", base+"/"+id, nil).must(t, 200)
			if got.header.Get("X-Api-Key-Expiration") == "" || got.header.Get("X-Elastic-Api-Key-Expiration") == "" {
				t.Fatal("responses to key-authenticated requests must carry the expiration headers")
			}
			if got.str("status") != "active" || got.body["api_key"] != nil || got.str("name") != "ci-deploy" {
				t.Fatalf("get: %s", got.raw)
			}

			list := alice.do("GET", base+"?name=ci-*&status=active", nil).must(t, 200)
			if list.body["total"].(float64) < 1 {
				t.Fatalf("list: %s", list.raw)
			}

			up := alice.do("PUT", base+"/"+id, map[string]any{"metadata": map[string]any{"team": "sre"},
				"role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"monitor"}}}}).must(t, 200)
			if up.body["updated"] != true {
				t.Fatalf("update: %s", up.raw)
			}
			alice.do("PUT", base+"/"+id, map[string]any{"name": "renamed"}).must(t, 400)
			got = alice.do("GET", base+"/"+id, nil).must(t, 200)
			if got.body["metadata"].(map[string]any)["team"] != "sre" {
				t.Fatalf("update not visible: %s", got.raw)
			}

			alice.do("DELETE", base+"/"+id, nil).must(t, 200)
			// Refused on the very next request.
			key.do("GET", base+"/"+id, nil).must(t, 401)
			again := alice.do("DELETE", base+"/"+id, nil).must(t, 200)
			if len(again.body["previously_invalidated_api_keys"].([]any)) != 1 {
				t.Fatalf("second delete: %s", again.raw)
			}
			if st := alice.do("GET", base+"/"+id, nil).must(t, 200).str("status"); st != "invalidated" {
				t.Fatalf("status after revoke = %s", st)
			}

			id1, _ := alice.createKey(base, map[string]any{"name": "bulk-1"})
			id2, enc2 := alice.createKey(base, map[string]any{"name": "bulk-2"})
			bulk := alice.do("POST", base+"/_bulk_delete", map[string]any{"ids": []string{id1, id2, "nope"}}).must(t, 200)
			if len(bulk.body["invalidated_api_keys"].([]any)) != 2 || bulk.body["error_count"].(float64) != 1 {
				t.Fatalf("bulk delete: %s", bulk.raw)
			}
			a.as(t, apiKey(enc2)).do("GET", "/api/v1/whoami", nil).must(t, 401)
		})
	}
}

func TestExpiredKeyIsRefused(t *testing.T) {
	c := testclock.New(time.Now())
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	_, enc := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "short", "expiration": "1d"})
	key := a.as(t, apiKey(enc))
	key.do("GET", "/api/v1/whoami", nil).must(t, 200)
	c.Add(25 * time.Hour)
	r := key.do("GET", "/api/v1/whoami", nil).must(t, 401)
	if r.body["error"].(map[string]any)["type"] != "security_exception" {
		t.Fatalf("error body: %s", r.raw)
	}
	list := alice.do("GET", "/api/v1/orgs/default/api-keys?status=expired", nil).must(t, 200)
	if list.body["total"].(float64) != 1 {
		t.Fatalf("expired filter: %s", list.raw)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "contended"})
	const writers, each = 4, 10
	errs := make(chan string, writers*each)
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < each; i++ {
				r := alice.do("PUT", base+"/"+id, map[string]any{"metadata": map[string]any{"writer": w, "i": i}})
				if r.status != http.StatusOK || r.body["updated"] != true {
					errs <- fmt.Sprintf("writer %d update %d: %d %s", w, i, r.status, r.raw)
				}
			}
		}(w)
	}
	for w := 0; w < writers; w++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Every acknowledged update is one event on the key's subject.
	updates := 0
	for _, ev := range allEvents(t, a) {
		if ev.AggID == id && ev.Type == "KeyUpdated" {
			updates++
		}
	}
	if updates != writers*each {
		t.Fatalf("%d updates in the log, want %d", updates, writers*each)
	}
}

func TestIdempotentCreate(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/projects/default/api-keys"
	body := map[string]any{"name": "once"}
	r1 := alice.do("POST", base, body, "Idempotency-Key", "req-42").must(t, 201)
	r2 := alice.do("POST", base, body, "Idempotency-Key", "req-42").must(t, 201)
	if r1.str("id") != r2.str("id") || r1.str("encoded") != r2.str("encoded") {
		t.Fatalf("retry created another key: %s vs %s", r1.raw, r2.raw)
	}
	if r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a replay should say so")
	}
	a.as(t, apiKey(r2.str("encoded"))).do("GET", "/api/v1/whoami", nil).must(t, 200)
	alice.do("POST", base, map[string]any{"name": "other"}, "Idempotency-Key", "req-42").must(t, 409)
	list := alice.do("GET", base+"?name=once", nil).must(t, 200)
	if list.body["total"].(float64) != 1 {
		t.Fatalf("want exactly one key: %s", list.raw)
	}
}

func TestRestartKeepsEveryKeyWorking(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	alice := a.as(t, basic(ownerAuth))
	var creds []string
	for i := 0; i < 20; i++ {
		_, enc := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": fmt.Sprintf("k%d", i)})
		creds = append(creds, enc)
	}
	revokedID, revoked := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "gone"})
	alice.do("DELETE", "/api/v1/orgs/default/api-keys/"+revokedID, nil).must(t, 200)
	a.Close()

	b := startApp(t, dir, nil)
	for _, enc := range creds {
		b.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	}
	b.as(t, apiKey(revoked)).do("GET", "/api/v1/whoami", nil).must(t, 401)
	// The bootstrap ran once: still one organization.
	orgs := b.as(t, basic(ownerAuth)).do("GET", "/api/v1/orgs", nil).must(t, 200)
	if n := len(orgs.body["orgs"].([]any)); n != 1 {
		t.Fatalf("%d organizations after restart", n)
	}
}

func TestCreateAnswersCSVWhenAsked(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	r := alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "csv-key"}, "Accept", "text/csv").must(t, 201)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=UTF-8" {
		t.Fatalf("content type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(r.raw), "\n")
	if len(lines) != 2 || lines[0] != "id,name,expiration,api_key,encoded" || !strings.Contains(lines[1], ",csv-key,") {
		t.Fatalf("csv: %q", r.raw)
	}
	encoded := lines[1][strings.LastIndex(lines[1], ",")+1:]
	a.as(t, apiKey(encoded)).do("GET", "/api/v1/whoami", nil).must(t, 200)
}

func TestKeyPermissionsAreBoundedByTheirDescriptors(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	targetID, _ := alice.createKey(base, map[string]any{"name": "target", "type": "managed"})
	_, reader := alice.createKey(base, map[string]any{"name": "reader",
		"role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"read_security"}}}})
	rk := a.as(t, apiKey(reader))
	list := rk.do("GET", base+"?type=managed", nil).must(t, 200)
	if list.body["total"].(float64) != 1 {
		t.Fatalf("managed filter: %s", list.raw)
	}
	rk.do("DELETE", base+"/"+targetID, nil).must(t, 403)
	rk.do("PUT", base+"/"+targetID, map[string]any{"metadata": map[string]any{}}).must(t, 403)
	// An own-keys-only key acts on itself only: an API key owns only
	// itself, as in Elasticsearch, not its owner's other keys.
	_, own := alice.createKey(base, map[string]any{"name": "own",
		"role_descriptors": map[string]any{"own": map[string]any{"cluster": []string{"manage_own_api_key"}}}})
	a.addMember(t, ownerAuth, "default", "carol", "admin")
	carol := a.as(t, basic("carol:carol-password"))
	carolKeyID, _ := carol.createKey(base, map[string]any{"name": "carols"})
	ok := a.as(t, apiKey(own))
	ok.do("GET", base+"/"+carolKeyID, nil).must(t, 403)
	ok.do("GET", base+"/"+targetID, nil).must(t, 403)
	mine := ok.do("GET", base, nil).must(t, 200)
	if ks := mine.body["api_keys"].([]any); len(ks) != 1 || ks[0].(map[string]any)["name"] != "own" {
		t.Fatalf("own-only key listed %s", mine.raw)
	}
}
