package app

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testclock"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// millis is a JSON number field in Unix milliseconds as a time.
func millis(r resp, k string) time.Time {
	v, _ := r.body[k].(float64)
	return time.UnixMilli(int64(v))
}

func TestRotationMakesASuccessorAndEndsTheOldKeyAfterTheGrace(t *testing.T) {
	c := testclock.New(time.Now().Truncate(time.Millisecond))
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	for _, base := range []string{"/api/v1/orgs/default/api-keys", "/api/v1/orgs/default/projects/default/api-keys"} {
		t.Run(base, func(t *testing.T) {
			alice.t = t
			old := alice.do("POST", base, map[string]any{"name": "deploy", "expiration": "30d", "type": "managed",
				"metadata":         map[string]any{"team": "infra"},
				"role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"monitor"}}}}).must(t, 201)
			oldID, oldEnc := old.str("id"), old.str("encoded")
			now := c.Now()

			r := alice.do("POST", base+"/"+oldID+"/_rotate", map[string]any{"grace": "2h", "expiration": "60d"}).must(t, 201)
			newID, newEnc := r.str("id"), r.str("encoded")
			if newID == "" || newID == oldID || r.str("api_key") == "" || newEnc == "" || r.str("name") != "deploy" || r.str("rotated_from") != oldID {
				t.Fatalf("rotate answer: %s", r.raw)
			}
			if got := millis(r, "expiration"); !got.Equal(now.Add(60 * 24 * time.Hour)) {
				t.Fatalf("successor expires %v, want in 60 days", got)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatal("the answer holding a secret must not be cached")
			}

			oldView := alice.do("GET", base+"/"+oldID, nil).must(t, 200)
			if oldView.str("rotated_to") != newID || !millis(oldView, "expiration").Equal(now.Add(2*time.Hour)) || oldView.str("status") != "active" {
				t.Fatalf("old key after rotation: %s", oldView.raw)
			}
			newView := alice.do("GET", base+"/"+newID, nil).must(t, 200)
			if newView.str("rotated_from") != oldID || newView.str("type") != "managed" || newView.str("scope") != oldView.str("scope") ||
				newView.str("username") != "alice" || newView.body["metadata"].(map[string]any)["team"] != "infra" ||
				newView.body["role_descriptors"].(map[string]any)["ro"] == nil {
				t.Fatalf("successor does not keep the key: %s", newView.raw)
			}

			// Its end is the grace's: it cannot be extended.
			if r := alice.do("PUT", base+"/"+oldID, map[string]any{"expiration": "90d"}).must(t, 400); !strings.Contains(r.raw, "rotated") {
				t.Fatalf("extending a rotated key: %s", r.raw)
			}
			// Both work during the grace; only the successor after it.
			a.as(t, apiKey(oldEnc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
			a.as(t, apiKey(newEnc)).do("GET", "/api/v1/whoami", nil).must(t, 200)
			c.Add(2*time.Hour + time.Second)
			a.as(t, apiKey(oldEnc)).do("GET", "/api/v1/whoami", nil).must(t, 401)
			a.as(t, apiKey(newEnc)).do("GET", "/api/v1/whoami", nil).must(t, 200)

			// A rotated key is not rotated again: its successor is.
			again := alice.do("POST", base+"/"+oldID+"/_rotate", nil).must(t, 409)
			if again.body["error"].(map[string]any)["reason"] == "" {
				t.Fatalf("409 without a reason: %s", again.raw)
			}
			alice.do("POST", base+"/"+newID+"/_rotate", nil).must(t, 201)
		})
	}
}

func TestRotationGraceByOutcome(t *testing.T) {
	c := testclock.New(time.Now().Truncate(time.Millisecond))
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	for _, tc := range []struct {
		name, expiration string
		body             map[string]any
		wantEnd          time.Duration // from now
	}{
		{"no body: a day's grace, a create's default for the successor", "30d", nil, 24 * time.Hour},
		{"0s ends the old key at once", "30d", map[string]any{"grace": "0s"}, 0},
		{"a grace past the old expiry keeps the old expiry", "1d", map[string]any{"grace": "7d"}, 24 * time.Hour},
		{"a key that never expired ends after the grace", "never", map[string]any{"grace": "3h"}, 3 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice.t = t
			now := c.Now()
			id, enc := alice.createKey(base, map[string]any{"name": "g", "expiration": tc.expiration})
			r := alice.do("POST", base+"/"+id+"/_rotate", tc.body).must(t, 201)
			if tc.body == nil && !millis(r, "expiration").Equal(now.Add(90*24*time.Hour)) {
				t.Fatalf("successor expires %v, want a create's default of three months", millis(r, "expiration"))
			}
			old := alice.do("GET", base+"/"+id, nil).must(t, 200)
			if got := millis(old, "expiration"); !got.Equal(now.Add(tc.wantEnd)) {
				t.Fatalf("old key ends %v, want %v", got, now.Add(tc.wantEnd))
			}
			if tc.wantEnd == 0 {
				if old.str("status") != "expired" {
					t.Fatalf("old key after a 0s rotation: %s", old.raw)
				}
				a.as(t, apiKey(enc)).do("GET", "/api/v1/whoami", nil).must(t, 401)
			}
		})
	}
	id, _ := alice.createKey(base, map[string]any{"name": "bad"})
	for _, body := range []map[string]any{{"grace": "-1h"}, {"grace": "soon"}, {"expiration": "2001-01-01T00:00:00Z"}, {"name": "x"}} {
		r := alice.do("POST", base+"/"+id+"/_rotate", body).must(t, 400)
		if r.body["error"].(map[string]any)["reason"] == "" {
			t.Fatalf("400 without a reason: %s", r.raw)
		}
	}
	alice.do("GET", base+"/"+id, nil).must(t, 200)
	if v := alice.do("GET", base+"/"+id, nil).must(t, 200); v.str("rotated_to") != "" {
		t.Fatalf("a refused rotation changed the key: %s", v.raw)
	}
}

func TestOnlyTheOwnerOrTheKeyItselfMayRotate(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	a.addMember(t, ownerAuth, "default", "bob", "admin")
	bob := a.as(t, basic("bob:bob-password"))
	base := "/api/v1/orgs/default/api-keys"
	selfKeyBody := map[string]any{"name": "svc", "role_descriptors": map[string]any{"self": map[string]any{"cluster": []string{"manage_own_api_key"}}}}

	aliceKey, _ := alice.createKey(base, map[string]any{"name": "alice-key"})
	r := bob.do("POST", base+"/"+aliceKey+"/_rotate", nil).must(t, 403)
	if r.body["error"].(map[string]any)["type"] != "security_exception" {
		t.Fatalf("refusal shape: %s", r.raw)
	}

	// A key rotates itself, by _self or by its id; the successor is its
	// owner's, and works.
	svc, svcEnc := alice.createKey(base, selfKeyBody)
	key := a.as(t, apiKey(svcEnc))
	// Without an Idempotency-Key a lost answer would lose the successor.
	key.do("POST", "/api/v1/api-keys/_self/_rotate", map[string]any{"grace": "1h"}).must(t, 400)
	self := key.do("POST", "/api/v1/api-keys/_self/_rotate", map[string]any{"grace": "1h"}, "Idempotency-Key", "svc-renewal").must(t, 201)
	if self.str("rotated_from") != svc {
		t.Fatalf("self rotation: %s", self.raw)
	}
	succ := a.as(t, apiKey(self.str("encoded")))
	if v := alice.do("GET", base+"/"+self.str("id"), nil).must(t, 200); v.str("username") != "alice" || v.str("realm") != "native" {
		t.Fatalf("successor of a self-rotation: %s", v.raw)
	}
	// The successor rotates itself too, by its id.
	succ.do("POST", base+"/"+self.str("id")+"/_rotate", nil, "Idempotency-Key", "svc-renewal-2").must(t, 201)

	// A key cannot rotate another key of the same owner.
	other, _ := alice.createKey(base, map[string]any{"name": "other"})
	_, peerEnc := alice.createKey(base, selfKeyBody)
	a.as(t, apiKey(peerEnc)).do("POST", base+"/"+other+"/_rotate", nil).must(t, 403)
	if v := alice.do("GET", base+"/"+other, nil).must(t, 200); v.str("rotated_to") != "" {
		t.Fatalf("a refused rotation changed the key: %s", v.raw)
	}
	// A key without a privilege to manage its own keys cannot rotate itself.
	_, roEnc := alice.createKey(base, map[string]any{"name": "ro", "role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"monitor"}}}})
	a.as(t, apiKey(roEnc)).do("POST", "/api/v1/api-keys/_self/_rotate", nil).must(t, 403)
	// _self needs a key.
	alice.do("POST", "/api/v1/api-keys/_self/_rotate", nil).must(t, 400)
	a.as(t, "").do("POST", "/api/v1/api-keys/_self/_rotate", nil).must(t, 401)
	// Another organization's key is not found, not forbidden.
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "evilcorp"}).must(t, 201)
	a.addMember(t, ownerAuth, "evilcorp", "mallory", "owner")
	a.as(t, basic("mallory:mallory-password")).do("POST", "/api/v1/orgs/evilcorp/api-keys/"+aliceKey+"/_rotate", nil).must(t, 404)
	a.as(t, basic("mallory:mallory-password")).do("POST", base+"/"+aliceKey+"/_rotate", nil).must(t, 404)
}

func TestARotationRetriedWithTheSameIdempotencyKeyAnswersTheSameSuccessor(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/projects/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "idem"})
	first := alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "1h"}, "Idempotency-Key", "rot-1").must(t, 201)
	retry := alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "1h"}, "Idempotency-Key", "rot-1").must(t, 201)
	if retry.str("id") != first.str("id") || retry.str("api_key") != first.str("api_key") || retry.str("rotated_from") != id ||
		retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %s, first %s", retry.raw, first.raw)
	}
	a.as(t, apiKey(retry.str("encoded"))).do("GET", "/api/v1/whoami", nil).must(t, 200)
	// A rotation can answer the new key as the create dialog's CSV.
	other, _ := alice.createKey(base, map[string]any{"name": "csv"})
	csv := testhttp.Do(t, "POST", a.URL()+base+"/"+other+"/_rotate", nil, "Authorization", basic(ownerAuth), "Accept", "text/csv")
	if csv.Status != 201 || !strings.HasPrefix(csv.Raw, "id,name,expiration,api_key,encoded") || !strings.Contains(csv.Raw, ",csv,") {
		t.Fatalf("CSV rotation: %d %s", csv.Status, csv.Raw)
	}
	// The same Idempotency-Key with another body is a client error.
	alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "2h"}, "Idempotency-Key", "rot-1").must(t, 409)
	// Without it, the rotated key is not rotated twice.
	alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "1h"}).must(t, 409)
	n := 0
	for _, ev := range allEvents(t, a) {
		if ev.Type == "KeyRotated" && ev.AggID == id {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d KeyRotated events for the key, want 1", n)
	}
}

func TestLineageShowsInListAuditAndAsOf(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "lineage"})
	before, err := a.Log.LastSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	newID := alice.do("POST", base+"/"+id+"/_rotate", nil).must(t, 201).str("id")

	list := alice.do("GET", base+"?name=lineage", nil).must(t, 200)
	seen := map[string]map[string]any{}
	for _, k := range list.body["api_keys"].([]any) {
		seen[k.(map[string]any)["id"].(string)] = k.(map[string]any)
	}
	if seen[id]["rotated_to"] != newID || seen[newID]["rotated_from"] != id {
		t.Fatalf("list: %s", list.raw)
	}

	entries, _ := auditEntries(t, alice, "?key_id="+id)
	if len(entries) == 0 || field(entries[0], "type") != "KeyRotated" || field(entries[0], "change", "rotated_to") != newID ||
		field(entries[0], "change", "expiration") == "" {
		t.Fatalf("audit of the old key: %v", entries)
	}
	entries, _ = auditEntries(t, alice, "?key_id="+newID)
	if len(entries) != 1 || field(entries[0], "type") != "KeyCreated" || field(entries[0], "change", "rotated_from") != id {
		t.Fatalf("audit of the successor: %v", entries)
	}

	asOf := func(seq uint64) map[string]map[string]any {
		r := alice.do("GET", base+"?as_of="+url.QueryEscape(strconv.FormatUint(seq, 10))+"&name=lineage", nil).must(t, 200)
		out := map[string]map[string]any{}
		for _, k := range r.body["api_keys"].([]any) {
			out[k.(map[string]any)["id"].(string)] = k.(map[string]any)
		}
		return out
	}
	if past := asOf(before); len(past) != 1 || past[id]["rotated_to"] != nil {
		t.Fatalf("as_of before the rotation: %v", past)
	}
	last, _ := a.Log.LastSeq(t.Context())
	if now := asOf(last); now[id]["rotated_to"] != newID || now[newID]["rotated_from"] != id {
		t.Fatalf("as_of after the rotation: %v", now)
	}
}

// Concurrent retries of one rotation (a client that timed out and tried
// again on several connections) all answer the one successor.
func TestConcurrentRetriesOfARotationAnswerOneSuccessor(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "racy"})
	const n = 8
	ids := make(chan string, n)
	for range n {
		go func() {
			r := testhttp.Do(t, "POST", a.URL()+base+"/"+id+"/_rotate", map[string]any{"grace": "1h"},
				"Authorization", basic(ownerAuth), "Idempotency-Key", "racy-1")
			if r.Status != 201 {
				ids <- "status " + strconv.Itoa(r.Status) + ": " + r.Raw
				return
			}
			ids <- r.Body["id"].(string) + " " + r.Body["api_key"].(string)
		}()
	}
	first := <-ids
	for range n - 1 {
		if got := <-ids; got != first {
			t.Fatalf("retries answered %q and %q", first, got)
		}
	}
	successors := 0
	for _, ev := range allEvents(t, a) {
		if ev.Type == "KeyCreated" && strings.Contains(string(ev.Data), `"rotated_from":"`+id+`"`) {
			successors++
		}
	}
	if successors != 1 {
		t.Fatalf("%d successors in the log, want 1", successors)
	}
}
