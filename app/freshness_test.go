package app

import (
	"net/http"
	"testing"

	"github.com/keyplane/keyplane/internal/testhttp"
)

// TestAConfirmedIndexAuthenticatesEveryNewKeyAtOnce runs a replica with
// --max-staleness: on a healthy log it never refuses, each key
// authenticating right after its create answered, and /readyz says it
// authenticates.
func TestAConfirmedIndexAuthenticatesEveryNewKeyAtOnce(t *testing.T) {
	a := startApp(t, t.TempDir(), nil, func(c *Config) { c.MaxStaleness = DefaultMaxStaleness })
	owner := a.as(t, basic(ownerAuth))
	for i := range 50 {
		_, enc := owner.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "fresh-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
		res := testhttp.Do(t, "GET", a.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+enc)
		if res.Status != http.StatusOK {
			t.Fatalf("key %d right after its create: %d %s", i, res.Status, res.Raw)
		}
	}
	ready := testhttp.Do(t, "GET", a.URL()+"/readyz", nil)
	f, _ := ready.Body["freshness"].(map[string]any)
	if ready.Status != http.StatusOK || f["authenticating"] != true || f["max_staleness_seconds"] != 5.0 {
		t.Fatalf("/readyz: %d %s", ready.Status, ready.Raw)
	}
}
