package app

import (
	"strings"
	"testing"
)

func TestConsoleAPIManagesCrossClusterKeysAndRefusesThemAsCredentials(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	alice := a.as(t, basic(ownerAuth))
	base := "/api/v1/orgs/default/projects/default/api-keys"
	access := map[string]any{"search": []any{map[string]any{"names": []string{"logs-*"}}}}
	id, encoded := alice.createKey(base, map[string]any{"name": "remote", "type": "cross_cluster", "access": access})
	restID, _ := alice.createKey(base, map[string]any{"name": "rest"})
	alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "org-cc", "type": "cross_cluster", "access": access}).must(t, 400)
	alice.do("POST", base, map[string]any{"name": "no-access", "type": "cross_cluster"}).must(t, 400)

	r := a.as(t, apiKey(encoded)).do("GET", "/api/v1/whoami", nil).must(t, 401)
	if !strings.Contains(r.raw, "authentication expected API key type of [rest], but API key ["+id+"] has type [cross_cluster]") {
		t.Fatalf("whoami with a cross-cluster key: %s", r.raw)
	}

	for _, tt := range []struct{ filter, want string }{{"cross_cluster", id}, {"rest", restID}, {"personal", restID}} {
		l := alice.do("GET", base+"?type="+tt.filter, nil).must(t, 200)
		ks := l.body["api_keys"].([]any)
		if len(ks) != 1 || ks[0].(map[string]any)["id"] != tt.want {
			t.Fatalf("type=%s: %s", tt.filter, l.raw)
		}
	}
	alice.do("GET", base+"?type=grpc", nil).must(t, 400)

	got := alice.do("GET", base+"/"+id, nil).must(t, 200)
	if got.str("type") != "cross_cluster" || !strings.Contains(got.raw, `"access":{"search":[{"names":["logs-*"],"allow_restricted_indices":false}]}`) {
		t.Fatalf("get: %s", got.raw)
	}
	alice.do("PUT", base+"/"+id, map[string]any{"role_descriptors": map[string]any{}}).must(t, 400)
	alice.do("PUT", base+"/"+restID, map[string]any{"access": access}).must(t, 400)
	up := alice.do("PUT", base+"/"+id, map[string]any{"access": map[string]any{"replication": []any{map[string]any{"names": []string{"archive"}}}}}).must(t, 200)
	if up.body["updated"] != true || !strings.Contains(up.raw, `"cluster":["cross_cluster_replication"]`) {
		t.Fatalf("update: %s", up.raw)
	}

	// A viewer may not create one; the successor of a rotation is one too.
	a.addMember(t, ownerAuth, "default", "vic", "viewer")
	a.as(t, basic("vic:vic-password")).do("POST", base, map[string]any{"name": "v", "type": "cross_cluster", "access": access}).must(t, 403)
	rot := alice.do("POST", base+"/"+id+"/_rotate", map[string]any{"grace": "0s"}).must(t, 201)
	succ := rot.str("id")

	// The log reads back: a restarted keyplane has the same keys.
	a.Close()
	a = startApp(t, dir, nil)
	alice = a.as(t, basic(ownerAuth))
	got = alice.do("GET", base+"/"+succ, nil).must(t, 200)
	if got.str("type") != "cross_cluster" || got.str("rotated_from") != id || !strings.Contains(got.raw, `"replication":[{"names":["archive"]`) {
		t.Fatalf("successor after a restart: %s", got.raw)
	}
	l := alice.do("GET", base+"?type=cross_cluster&status=active", nil).must(t, 200)
	if l.body["total"].(float64) != 1 {
		t.Fatalf("active cross-cluster keys after a restart: %s", l.raw)
	}
}
