package rest

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Fuzz targets of the request decoders and the Authorization header parser.
// Seed corpora are in testdata/fuzz/<target>/; scripts/test runs each
// target for a few seconds. The invariants: nothing panics, a bad input is
// a client error of the expected kind, and what is accepted is what a
// well-formed request would give.

var (
	fuzzNow    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	fuzzTenant = domain.TenantID("t-fuzz")
	fuzzOwner  = domain.Principal{Kind: domain.ActorUser, User: "alice",
		Memberships: map[domain.TenantID]domain.Role{fuzzTenant: domain.RoleOwner}}
	// fuzzKeySecret is the secret of the one key fuzzServer knows
	// (testdata/fuzz/FuzzAuthorizationHeader has its credential).
	fuzzKeyID     = domain.KeyID("fuzzkey0000000000001")
	fuzzKeySecret = domain.Secret("fuzz-secret-0000000000")
)

// fuzzKey is a key of the fuzz tenant, as the projections hold it.
func fuzzKey(t testing.TB) (domain.Key, domain.Event) {
	t.Helper()
	c := domain.CreateKey{Tenant: fuzzTenant, Scope: domain.ScopeOrg, Name: "fuzz", Expiration: "30d"}
	ev, err := domain.DecideCreateKey(fuzzOwner, c, fuzzKeyID, domain.HashSecret([]byte(fuzzKeySecret)), fuzzNow)
	if err != nil {
		t.Fatal(err)
	}
	e := domain.NewEvent("e-fuzz", fuzzTenant, domain.AggKey, string(fuzzKeyID), domain.Meta{Actor: fuzzOwner.Actor(), Time: fuzzNow}, ev)
	e.Seq = 1
	var k domain.Key
	if err := k.Apply(e); err != nil {
		t.Fatal(err)
	}
	return k, e
}

// fuzzServer is the keys' handlers over in-memory projections that know one key and
// no members (a Basic credential costs an argon2id check per try).
func fuzzServer(t testing.TB) *keysAPI {
	t.Helper()
	_, e := fuzzKey(t)
	keys, auth, dir := projections.NewKeys(), projections.NewAuthIndex(), tenants.NewDirectory()
	for _, p := range []projections.Applier{keys, auth} {
		if err := p.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return fuzzNow }
	a := authn.New(authn.Config{Now: now, Dir: dir, Logins: tenants.NewLogins(dir, nil), Keys: keys, Auth: auth})
	return New(Config{Keys: keys, Dir: dir, Now: now, Authn: a}).keys
}

func FuzzAuthorizationHeader(f *testing.F) {
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		r.Header["Authorization"] = []string{header}
		p, err := s.authenticate(r)
		if err != nil {
			// Throttled: the Basic attempts so far have locked the
			// fuzzer's address (authn/throttle.go).
			if k := domain.KindOf(err); k != domain.KindUnauthenticated && k != domain.KindThrottled {
				t.Fatalf("%q: %v error %v, want unauthenticated or throttled", header, k, err)
			}
			if strings.Contains(err.Error(), string(fuzzKeySecret)) {
				t.Fatalf("%q: the error shows the secret: %v", header, err)
			}
			return
		}
		// Only the one key exists: whatever authenticated must be it, and
		// its credential must really have been in the header.
		if p.Kind != domain.ActorKey || p.KeyID != fuzzKeyID || p.Tenant != fuzzTenant {
			t.Fatalf("%q authenticated as %+v", header, p)
		}
		scheme, cred, _ := strings.Cut(header, " ")
		var buf [256]byte
		id, secret, perr := domain.ParseAPIKeyCredential(strings.TrimSpace(cred), buf[:])
		if !strings.EqualFold(scheme, "ApiKey") || perr != nil || string(id) != string(fuzzKeyID) || string(secret) != string(fuzzKeySecret) {
			t.Fatalf("%q authenticated without the key's credential", header)
		}
	})
}

// decode runs httpx.DecodeBody over body as a request's.
func decode(body []byte, v any) error {
	return httpx.DecodeBody(httptest.NewRequest("POST", "/", bytes.NewReader(body)), v, false)
}

// clientError fails unless err is one of the kinds a bad request may give.
func clientError(t *testing.T, err error, kinds ...domain.Kind) {
	t.Helper()
	k := domain.KindOf(err)
	for _, want := range kinds {
		if k == want {
			return
		}
	}
	t.Fatalf("error of kind %v (%v), want one of %v", k, err, kinds)
}

func FuzzCreateKeyRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var req createKeyRequest
		if err := decode(body, &req); err != nil {
			clientError(t, err, domain.KindInvalid, domain.KindTooLarge)
			return
		}
		for _, project := range []domain.ProjectID{"", "p-fuzz"} {
			c := req.command(fuzzTenant, project)
			ev, err := domain.DecideCreateKey(fuzzOwner, c, "k-new", domain.HashSecret([]byte("s")), fuzzNow)
			if err != nil {
				clientError(t, err, domain.KindInvalid, domain.KindForbidden)
				continue
			}
			if ev.Name != req.Name || ev.Scope != c.Scope || ev.Project != project || ev.Hash == "" {
				t.Fatalf("%q decided as %+v", body, ev)
			}
			if ev.Expires != nil && (!ev.Expires.After(fuzzNow) || ev.Expires.Sub(fuzzNow) > domain.MaxKeyLifetime) {
				t.Fatalf("%q expires at %v", body, ev.Expires)
			}
			// What was accepted is written to the log: it must encode.
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("%q: accepted event does not encode: %v", body, err)
			}
		}
	})
}

func FuzzUpdateKeyRequest(f *testing.F) {
	k, _ := fuzzKey(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req updateKeyRequest
		if err := decode(body, &req); err != nil {
			clientError(t, err, domain.KindInvalid, domain.KindTooLarge)
			return
		}
		key := k // DecideUpdateKey must not change the key it is given
		ev, err := domain.DecideUpdateKey(fuzzOwner, &key, req.command(), fuzzNow)
		if err != nil {
			clientError(t, err, domain.KindInvalid, domain.KindForbidden)
			return
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("%q: accepted event does not encode: %v", body, err)
		}
		next := k
		if err := next.Apply(domain.NewEvent("e-up", fuzzTenant, domain.AggKey, string(k.ID), domain.Meta{Time: fuzzNow}, ev)); err != nil {
			t.Fatalf("%q: the key cannot apply its own update: %v", body, err)
		}
		if next.ID != k.ID || next.Name != k.Name || next.Owner != k.Owner || next.Scope != k.Scope {
			t.Fatalf("%q changed what an update may not: %+v", body, next)
		}
	})
}

func FuzzBulkDeleteRequest(f *testing.F) {
	s := fuzzServer(f)
	scope := keyScope{org: &domain.Org{ID: fuzzTenant}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req bulkDeleteRequest
		if err := decode(body, &req); err != nil {
			clientError(t, err, domain.KindInvalid, domain.KindTooLarge)
			return
		}
		// Whatever the ids, a lookup finds the one key there is by its id
		// and nothing else.
		for _, id := range req.IDs {
			k, err := s.findKey(fuzzOwner, scope, id)
			switch {
			case id == fuzzKeyID && (err != nil || k.ID != id):
				t.Fatalf("the key is not found by its id: %v", err)
			case id != fuzzKeyID && domain.KindOf(err) != domain.KindNotFound:
				t.Fatalf("id %q: found %v, %v", id, k.ID, err)
			}
		}
	})
}
