package app

import (
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testclock"
)

// A rotation keeps to its organization's key policy: the successor's
// missing expiration takes default_expiration, one past max_expiration or
// never where not allowed is refused naming the limit, a grace past
// max_grace is refused naming it, and a rotation is not a create:
// max_active_keys does not stop it.
func TestRotationKeepsToTheKeyPolicy(t *testing.T) {
	c := testclock.New(time.Now().Truncate(time.Millisecond))
	a := startApp(t, t.TempDir(), c.Now)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/projects/default/api-keys"
	id, _ := alice.createKey(base, map[string]any{"name": "pol", "expiration": "30d"})
	alice.do("PUT", policyPath, map[string]any{"default_expiration": "10d", "max_expiration": "60d", "allow_never": false,
		"max_grace": "2d", "max_active_keys": 1}).must(t, 200)
	for _, bad := range []struct {
		body  map[string]any
		limit string
	}{
		{map[string]any{"grace": "3d"}, "(max_grace)"},
		{map[string]any{"expiration": "90d"}, "(max_expiration)"},
		{map[string]any{"expiration": "never"}, "allow_never"},
	} {
		r := alice.do("POST", base+"/"+id+"/_rotate", bad.body).must(t, 400)
		if !strings.Contains(r.raw, bad.limit) {
			t.Fatalf("%v: %s", bad.body, r.raw)
		}
	}
	now := c.Now()
	r := alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "2d"}).must(t, 201)
	if got := millis(r, "expiration"); !got.Equal(now.Add(10 * 24 * time.Hour)) {
		t.Fatalf("successor expires %v, want the policy's default of 10 days", got)
	}
}
