package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// allEvents reads the whole stream.
func allEvents(t *testing.T, a *App) []domain.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	last, err := a.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Event
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	_ = a.Log.Subscribe(sctx, 1, func(ev domain.Event) error {
		out = append(out, ev)
		if ev.Seq >= last {
			stop()
		}
		return nil
	})
	// A read cut short would let "no event has X" checks pass on what it
	// did not see.
	if len(out) == 0 || out[len(out)-1].Seq < last {
		t.Fatalf("read %d events, the stream has %d", len(out), last)
	}
	return out
}

func TestTenantsNeverSeeEachOther(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	// Bob gets his own organization.
	a.addMember(t, ownerAuth, "default", "bob", "viewer")
	bob := a.as(t, basic("bob:bob-password"))
	bob.do("POST", "/api/v1/orgs", map[string]any{"name": "bobco"}).must(t, 201)
	bobKeyID, bobKey := bob.createKey("/api/v1/orgs/bobco/api-keys", map[string]any{"name": "bob-key"})
	aliceKeyID, _ := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "alice-key"})

	// Alice is not a member of bobco: everything there is not found.
	for _, probe := range []struct{ method, path string }{
		{"GET", "/api/v1/orgs/bobco"},
		{"GET", "/api/v1/orgs/bobco/api-keys"},
		{"GET", "/api/v1/orgs/bobco/api-keys/" + bobKeyID},
		{"PUT", "/api/v1/orgs/bobco/api-keys/" + bobKeyID},
		{"DELETE", "/api/v1/orgs/bobco/api-keys/" + bobKeyID},
		{"GET", "/api/v1/orgs/bobco/members"},
		{"GET", "/api/v1/orgs/bobco/projects"},
	} {
		var body any
		if probe.method == "PUT" {
			body = map[string]any{"metadata": map[string]any{}}
		}
		alice.do(probe.method, probe.path, body).must(t, 404)
	}
	// Bob's key, used against alice's org, finds nothing either.
	bk := a.as(t, apiKey(bobKey))
	bk.do("GET", "/api/v1/orgs/default/api-keys", nil).must(t, 404)
	bk.do("GET", "/api/v1/orgs/default/api-keys/"+aliceKeyID, nil).must(t, 404)
	bk.do("DELETE", "/api/v1/orgs/default/api-keys/"+aliceKeyID, nil).must(t, 404)
	bk.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "x"}).must(t, 404)
	// Alice's key id looked up under bob's org is not found, not forbidden.
	bob.do("GET", "/api/v1/orgs/bobco/api-keys/"+aliceKeyID, nil).must(t, 404)
	// Bob's organization list has only his.
	orgs := bk.do("GET", "/api/v1/orgs", nil).must(t, 200)
	if len(orgs.body["orgs"].([]any)) != 1 {
		t.Fatalf("a key sees %s", orgs.raw)
	}
	// Bob, a viewer in default, may read but not create or revoke.
	bob.do("GET", "/api/v1/orgs/default/api-keys", nil).must(t, 200)
	bob.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "x"}).must(t, 403)
	bob.do("DELETE", "/api/v1/orgs/default/api-keys/"+aliceKeyID, nil).must(t, 403)
}

func TestProjectKeyOnlyActsInItsProject(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	alice.do("POST", "/api/v1/orgs/default/projects", map[string]any{"name": "other"}).must(t, 201)
	_, enc := alice.createKey("/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "proj"})
	otherID, _ := alice.createKey("/api/v1/orgs/default/projects/other/api-keys", map[string]any{"name": "o"})
	orgKeyID, _ := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "org"})
	pk := a.as(t, apiKey(enc))
	pk.do("GET", "/api/v1/orgs/default/projects/default/api-keys", nil).must(t, 200)
	pk.do("GET", "/api/v1/orgs/default/projects/other/api-keys", nil).must(t, 404)
	pk.do("GET", "/api/v1/orgs/default/projects/other/api-keys/"+otherID, nil).must(t, 404)
	pk.do("GET", "/api/v1/orgs/default/api-keys", nil).must(t, 403)
	pk.do("GET", "/api/v1/orgs/default/api-keys/"+orgKeyID, nil).must(t, 404)
	// A key may only create a key without privileges.
	pk.do("POST", "/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "d"}).must(t, 400)
	pk.do("POST", "/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "d", "role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"all"}}}}).must(t, 400)
	pk.do("POST", "/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "d", "role_descriptors": map[string]any{"none": map[string]any{}}}).must(t, 201)
}

func TestTheLogHoldsNoSecret(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	var secrets []string
	for _, base := range []string{"/api/v1/orgs/default/api-keys", "/api/v1/orgs/default/projects/default/api-keys"} {
		r := alice.do("POST", base, map[string]any{"name": "s"}, "Idempotency-Key", "idem-"+base).must(t, 201)
		secrets = append(secrets, r.str("api_key"), r.str("encoded"), "idem-"+base)
	}
	for _, ev := range allEvents(t, a) {
		raw, _ := json.Marshal(ev)
		for _, s := range append(secrets, "alice-password") {
			if strings.Contains(string(raw), s) {
				t.Fatalf("event %d (%s) contains a secret", ev.Seq, ev.Type)
			}
		}
	}
}

func TestBadInputGetsAClear4xx(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	keys := "/api/v1/orgs/default/api-keys"
	id, _ := alice.createKey(keys, map[string]any{"name": "target"})
	huge := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, method, path, auth, body string
		status                         int
	}{
		{"no credentials", "GET", keys, "-", "", 401},
		{"unknown scheme", "GET", keys, "Bearer abc", "", 401},
		{"garbage api key", "GET", keys, "ApiKey !!!", "", 401},
		{"unknown api key", "GET", keys, "ApiKey " + domain.Encode("nope", "nope"), "", 401},
		{"wrong password", "GET", keys, basic("alice:wrong-password"), "", 401},
		{"malformed basic", "GET", keys, "Basic !!!", "", 401},
		{"unknown field", "POST", keys, "", `{"name":"a","nme":"b"}`, 400},
		{"not json", "POST", keys, "", `{name`, 400},
		{"trailing data", "POST", keys, "", `{"name":"a"} {}`, 400},
		{"empty body", "POST", keys, "", ``, 400},
		{"array body", "POST", keys, "", `[]`, 400},
		{"missing name", "POST", keys, "", `{}`, 400},
		{"bad expiration", "POST", keys, "", `{"name":"a","expiration":"next week"}`, 400},
		{"past expiration", "POST", keys, "", `{"name":"a","expiration":"2001-01-01T00:00:00Z"}`, 400},
		{"bad role descriptor", "POST", keys, "", `{"name":"a","role_descriptors":{"r":{"cluster":["fly"]}}}`, 400},
		{"role descriptor wrong type", "POST", keys, "", `{"name":"a","role_descriptors":[1]}`, 400},
		{"reserved metadata", "POST", keys, "", `{"name":"a","metadata":{"_sys":1}}`, 400},
		{"metadata not an object", "POST", keys, "", `{"name":"a","metadata":[1]}`, 400},
		{"oversize body", "POST", keys, "", huge, 400},
		{"bad status filter", "GET", keys + "?status=weird", "", "", 400},
		{"bad sort", "GET", keys + "?sort=secret", "", "", 400},
		{"bad size", "GET", keys + "?size=-1", "", "", 400},
		{"unknown parameter", "GET", keys + "?colour=red", "", "", 400},
		{"unknown org", "GET", "/api/v1/orgs/nope/api-keys", "", "", 404},
		{"unknown project", "GET", "/api/v1/orgs/default/projects/nope/api-keys", "", "", 404},
		{"unknown key", "GET", keys + "/nope", "", "", 404},
		{"update unknown field", "PUT", keys + "/" + id, "", `{"name":"x"}`, 400},
		{"bulk without ids", "POST", keys + "/_bulk_delete", "", `{"ids":[]}`, 400},
		{"duplicate project", "POST", "/api/v1/orgs/default/projects", "", `{"name":"default"}`, 409},
		{"bad contact", "PUT", "/api/v1/orgs/default/contacts", "", `{"emails":["not an email"]}`, 400},
		{"bad member role", "POST", "/api/v1/orgs/default/members", "", `{"email":"c@example.com","role":"god"}`, 400},
		{"short member password", "POST", "/api/v1/orgs/default/members", "", `{"name":"c","password":"x","role":"viewer"}`, 400},
		{"duplicate org", "POST", "/api/v1/orgs", "", `{"name":"default"}`, 409},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404},
		{"wrong method", "PATCH", keys, "", "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := alice
			switch tt.auth {
			case "":
			case "-":
				c = a.as(t, "")
			default:
				c = a.as(t, tt.auth)
			}
			c.t = t
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := c.do(tt.method, tt.path, body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.status, r.raw)
			}
			e, _ := r.body["error"].(map[string]any)
			if e == nil || e["type"] == "" || e["reason"] == "" || r.body["status"].(float64) != float64(tt.status) {
				t.Fatalf("error body not in Elasticsearch's shape: %.300s", r.raw)
			}
		})
	}
}
