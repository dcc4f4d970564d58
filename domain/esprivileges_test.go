package domain

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGlobCovers(t *testing.T) {
	for _, tt := range []struct {
		g, r string
		want bool
	}{
		{"*", "*", true},
		{"*", "index-a", true},
		{"index-a", "index-a", true},
		{"index-a", "*", false},
		{"index-*", "index-a*", true},
		{"index-a*", "index-*", false},
		{"logs-?", "logs-1", true},
		{"logs-?", "logs-?", true},
		{"logs-?", "logs-*", false},
		{"indices:*", "indices:data/read/*", true},
		{"indices:data/write/*", "indices:data/write/index*", true},
		{"indices:data/write/index*", "indices:data/write/*", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "a*c", false},
		{"", "", true},
		{"", "a", false},
	} {
		if got := globCovers(tt.g, tt.r); got != tt.want {
			t.Errorf("globCovers(%q, %q) = %v, want %v", tt.g, tt.r, got, tt.want)
		}
	}
}

func mustRDs(t *testing.T, s string) RoleDescriptors {
	t.Helper()
	rds, err := ParseRoleDescriptors(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return rds
}

// The key and owner of Elasticsearch's "Test has privileges API for api
// key" (api_key/10_basic.yml).
func TestPermissionChecksLikeElasticsearch(t *testing.T) {
	key := mustRDs(t, `{
		"role-a": {"cluster": ["all"], "index": [{"names": ["index-a"], "privileges": ["read"]}],
		           "applications": [{"application": "myapp", "privileges": ["read"], "resources": ["*"]}]},
		"role-b": {"cluster": ["manage"], "index": [{"names": ["index-b"], "privileges": ["all"]}]}}`)
	owner := mustRDs(t, `{"admin_role": {"cluster": ["manage_api_key"], "indices": [{"names": "*", "privileges": ["all"]}],
		"applications": [{"application": "myapp", "privileges": ["*"], "resources": ["*"]}]}}`)
	p := Permission{key, owner}
	resolve := func(app, name string) ([]string, bool) {
		return map[string][]string{"read": {"data:read/*"}, "write": {"data:write/*"}}[name], app == "myapp"
	}
	for _, tt := range []struct {
		index, priv string
		want        bool
	}{
		{"*", "read", false}, {"index-a", "read", true}, {"index-a", "index", false}, {"index-a", "write", false},
		{"index-b", "read", true}, {"index-b", "write", true}, {"index-b", "indices:data/write/bulk", true},
		{"index-c", "read", false}, {"index-a", "fly", false},
	} {
		if got := p.HasIndex(tt.index, tt.priv, false); got != tt.want {
			t.Errorf("HasIndex(%s, %s) = %v, want %v", tt.index, tt.priv, got, tt.want)
		}
	}
	for _, tt := range []struct {
		priv, res string
		want      bool
	}{
		{"data:read/me", "*", true}, {"data:write/me", "*", false}, {"read", "some-other-res", true},
		{"write", "x", false}, {"unknown", "x", false},
	} {
		if got := p.HasApplication("myapp", tt.priv, tt.res, resolve); got != tt.want {
			t.Errorf("HasApplication(%s, %s) = %v, want %v", tt.priv, tt.res, got, tt.want)
		}
	}
	for _, tt := range []struct {
		priv string
		want bool
	}{
		{"manage_api_key", true}, {"manage_own_api_key", true}, {"all", false}, {"monitor", false},
		{"cluster:admin/xpack/security/api_key/get", true}, {"fly", false},
	} {
		if got := p.HasCluster(tt.priv); got != tt.want {
			t.Errorf("HasCluster(%s) = %v, want %v", tt.priv, got, tt.want)
		}
	}
}

func TestHasClusterHonoursExclusionsAndOwnership(t *testing.T) {
	manage := Permission{mustRDs(t, `{"r": {"cluster": ["manage"]}}`)}
	if manage.HasCluster("all") || !manage.HasCluster("manage") || !manage.HasCluster("monitor") || manage.HasCluster("manage_security") {
		t.Fatal("manage must not include security privileges, and must include itself and monitor")
	}
	own := Permission{mustRDs(t, `{"r": {"cluster": ["manage_own_api_key"]}}`)}
	if own.HasCluster("manage_api_key") || !own.HasCluster("manage_own_api_key") {
		t.Fatal("manage_own_api_key is not manage_api_key")
	}
}

func TestRunAs(t *testing.T) {
	p := Permission{mustRDs(t, `{"r": {"run_as": ["target-*"]}}`)}
	if !p.AllowsRunAs("target-1") || p.AllowsRunAs("other") || (Permission{}).AllowsRunAs("target-1") {
		t.Fatal("run_as patterns")
	}
}

func TestDenialMessagesNameTheGrantingPrivileges(t *testing.T) {
	for _, tt := range []struct {
		action string
		want   []string
	}{
		{ActionInvalidateKey, []string{"manage_api_key", "manage_security", "all"}},
		{ActionGrantKey, []string{"grant_api_key", "manage_api_key", "manage_security", "all"}},
		{ActionBulkGrantKeys, []string{"grant_api_key", "manage_api_key", "manage_security", "all"}},
	} {
		if got := ClusterPrivilegesGranting(tt.action); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.action, got, tt.want)
		}
	}
	user := Principal{Kind: ActorUser, User: "u1", Realm: RealmProject}
	want := "action [" + ActionInvalidateKey + "] is unauthorized for user [u1] with effective roles [user_role], " +
		"this action is granted by the cluster privileges [manage_api_key,manage_security,all]"
	if got := DeniedReason(user, []string{"user_role"}, nil, ActionInvalidateKey); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	key := Principal{Kind: ActorKey, User: "u1", KeyID: "k1"}
	if got := DeniedReason(key, nil, nil, ActionCreateToken); !strings.HasPrefix(got, "action ["+ActionCreateToken+"] is unauthorized for API key id [k1] of user [u1], this") {
		t.Fatalf("key message: %s", got)
	}
	if got := DeniedReason(user, []string{"a"}, []string{"b"}, ActionPutUser); !strings.Contains(got, "(assigned roles [b] were not found)") {
		t.Fatalf("missing roles not named: %s", got)
	}
}

func TestRestrictedIndicesNeedAllowRestrictedIndices(t *testing.T) {
	plain := mustRDs(t, `{"r": {"indices": [{"names": ["*"], "privileges": ["read"]}]}}`)
	open := mustRDs(t, `{"r": {"indices": [{"names": ["*"], "privileges": ["read"], "allow_restricted_indices": true}]}}`)
	for _, tt := range []struct {
		name            string
		grant           RoleDescriptors
		index           string
		allowRestricted bool
		want            bool
	}{
		{"restricted index named outright, plain grant", plain, ".security", false, false},
		{"restricted index named outright, even when asked with the flag", plain, ".security-7", true, false},
		{"restricted index, grant allows restricted", open, ".security", false, true},
		{"pattern without the flag leaves restricted indices out", plain, "*", false, true},
		{"pattern with the flag asks for restricted indices too", plain, "*", true, false},
		{"pattern with the flag, grant allows restricted", open, "*", true, true},
		{"ordinary index, plain grant", plain, "logs", false, true},
		{"pattern that cannot match a restricted index, with the flag", plain, "logs-*", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Permission{tt.grant}).HasIndex(tt.index, "read", tt.allowRestricted); got != tt.want {
				t.Errorf("HasIndex(%q, read, %v) = %v, want %v", tt.index, tt.allowRestricted, got, tt.want)
			}
		})
	}
}
