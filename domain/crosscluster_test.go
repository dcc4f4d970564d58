package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// projectUser is a project-local user of project p1 holding cluster.
func projectUser(name string, cluster ...string) Principal {
	return Principal{Kind: ActorUser, User: name, Realm: RealmProject, Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RoleDescriptors{"r": {Cluster: cluster}}}}
}

func ccCreate(access string) CreateKey {
	return CreateKey{Tenant: "org1", Scope: ScopeProject, Project: "p1", Type: KeyCrossCluster, Name: "remote",
		Access: json.RawMessage(access), DefaultNever: true, SnapshotLimits: true}
}

func TestCrossClusterAccessDerivesElasticsearchsRoleDescriptor(t *testing.T) {
	const ccs = `"privileges":["read","read_cross_cluster","view_index_metadata"]`
	const ccr = `"privileges":["cross_cluster_replication","cross_cluster_replication_internal"]`
	const tail = `"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`
	tests := []struct{ name, access, want string }{
		{"search only", `{"search":[{"names":["logs*"]}]}`,
			`{"cross_cluster":{"cluster":["cross_cluster_search","monitor_enrich"],"indices":[{"names":["logs*"],` + ccs + `,"allow_restricted_indices":false}],` + tail},
		{"replication only", `{"replication":[{"names":"archive*","allow_restricted_indices":true}]}`,
			`{"cross_cluster":{"cluster":["cross_cluster_replication"],"indices":[{"names":["archive*"],` + ccr + `,"allow_restricted_indices":true}],` + tail},
		{"both, search first", `{"replication":[{"names":["archive*"]}],"search":[{"names":["logs*","metrics"]}]}`,
			`{"cross_cluster":{"cluster":["cross_cluster_search","monitor_enrich","cross_cluster_replication"],"indices":[{"names":["logs*","metrics"],` + ccs +
				`,"allow_restricted_indices":false},{"names":["archive*"],` + ccr + `,"allow_restricted_indices":false}],` + tail},
		{"search with document and field level security", `{"search":[{"names":["logs*"],"query":"{\"term\":{\"a\":1}}","field_security":{"grant":["*"]}}]}`,
			`{"cross_cluster":{"cluster":["cross_cluster_search","monitor_enrich"],"indices":[{"names":["logs*"],` + ccs +
				`,"field_security":{"grant":["*"]},"query":"{\"term\":{\"a\":1}}","allow_restricted_indices":false}],` + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecideCreateKey(projectUser("bob", "manage_security"), ccCreate(tt.access), "k1", HashSecret([]byte("s")), t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, ev.RoleDescriptors); got != tt.want {
				t.Fatalf("descriptors\n got %s\nwant %s", got, tt.want)
			}
			if ev.Type != KeyCrossCluster || ev.LimitedBy != nil || ev.EventVersion() != 2 {
				t.Fatalf("type %s, limited_by %v, version %d: want cross_cluster, none, 2", ev.Type, ev.LimitedBy, ev.EventVersion())
			}
			// The access shown again is the access given, and reads back
			// as input (Elasticsearch's get answer feeds its update).
			shown := jsonOf(t, CrossClusterAccessOf(ev.RoleDescriptors))
			again, err := ParseCrossClusterAccess(json.RawMessage(shown))
			if err != nil {
				t.Fatal(err)
			}
			if rds, err := again.Descriptors(); err != nil || jsonOf(t, rds) != tt.want {
				t.Fatalf("shown access %s derives %s (%v)", shown, jsonOf(t, rds), err)
			}
		})
	}
}

func TestCrossClusterAccessRefusedWithElasticsearchsReasons(t *testing.T) {
	many := func(n int, entry string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(entry+",", n), ",") + "]"
	}
	tests := []struct{ name, access, reason string }{
		{"empty", `{}`, "must specify non-empty access for either [search] or [replication]"},
		{"empty lists", `{"search":[],"replication":[]}`, "must specify non-empty access for either [search] or [replication]"},
		{"null access", `null`, "access doesn't support values of type: VALUE_NULL"},
		{"null search", `{"search":null}`, "search doesn't support values of type: VALUE_NULL"},
		{"explicit privileges", `{"search":[{"names":["a"],"privileges":["read"]}]}`, "failed to parse indices privileges for role [cross_cluster]. field [privileges] must not present"},
		{"unknown field", `{"search":[{"names":["a"],"nope":1}]}`, "failed to parse indices privileges for role [cross_cluster]. unexpected field [nope]"},
		{"unknown kind", `{"read":[{"names":["a"]}]}`, "unknown field [read]"},
		{"no names", `{"search":[{"allow_restricted_indices":true}]}`, "missing required [names] field"},
		{"dls on replication", `{"replication":[{"names":["a"],"query":{"term":{"a":1}}}]}`, "replication does not support document or field level security"},
		{"fls on replication", `{"replication":[{"names":["a"],"field_security":{"grant":["*"]}}]}`, "replication does not support document or field level security"},
		{"dls on search with replication", `{"search":[{"names":["a"],"query":{"term":{"a":1}}}],"replication":[{"names":["b"]}]}`,
			"search does not support document or field level security if replication is assigned"},
		{"65 entries", fmt.Sprintf(`{"search":%s,"replication":[{"names":["b"]}]}`, many(64, `{"names":["a"]}`)), "over the limit of 64"},
		{"257 names", fmt.Sprintf(`{"search":[{"names":%s}]}`, many(257, `"a"`)), "over the limit of 256"},
		{"index name of 256 bytes", `{"search":[{"names":["` + strings.Repeat("x", 256) + `"]}]}`, "over the limit of 255"},
		{"query nested past the limit", `{"search":[{"names":["a"],"query":` + strings.Repeat(`{"a":`, 25) + `1` + strings.Repeat(`}`, 25) + `}]}`, "deeper than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecideCreateKey(projectUser("bob", "manage_security"), ccCreate(tt.access), "k1", HashSecret([]byte("s")), t0)
			if !IsKind(err, KindInvalid) || !strings.Contains(ReasonOf(err), tt.reason) {
				t.Fatalf("got %v, want 400 with %q", err, tt.reason)
			}
		})
	}
}

// kindNone is a table's "no error".
const kindNone Kind = -1

func TestOnlyManageSecurityCreatesCrossClusterKeysAndNeverAKey(t *testing.T) {
	admin := Principal{Kind: ActorUser, User: "ann", Memberships: map[TenantID]Role{"org1": RoleAdmin}}
	viewer := Principal{Kind: ActorUser, User: "vic", Memberships: map[TenantID]Role{"org1": RoleViewer}}
	key := Principal{Kind: ActorKey, User: "bob", Realm: RealmProject, KeyID: "kk", Tenant: "org1", Scope: ScopeProject, Project: "p1",
		Permission: Permission{RoleDescriptors{"r": {Cluster: StringList{"manage_security"}}}}}
	const access = `{"search":[{"names":["a"]}]}`
	tests := []struct {
		name string
		p    Principal
		kind Kind
	}{
		{"project user with manage_security", projectUser("bob", "manage_security"), kindNone},
		{"organization admin (manage_security)", admin, kindNone},
		{"project user with manage_api_key", projectUser("bob", "manage_api_key"), KindForbidden},
		{"project user with manage_own_api_key", projectUser("bob", "manage_own_api_key"), KindForbidden},
		{"viewer", viewer, KindForbidden},
		{"an API key, even with manage_security", key, KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecideCreateKey(tt.p, ccCreate(access), "k1", HashSecret([]byte("s")), t0)
			if tt.kind == kindNone && err != nil || tt.kind != kindNone && !IsKind(err, tt.kind) {
				t.Fatalf("got %v, want %q", err, tt.kind)
			}
			if tt.kind == KindForbidden && !strings.Contains(ReasonOf(err), ActionCreateCrossClusterKey) {
				t.Fatalf("reason %q does not name %s", ReasonOf(err), ActionCreateCrossClusterKey)
			}
		})
	}
}

func TestRoleDescriptorsAndAccessEachBelongToTheirType(t *testing.T) {
	p := projectUser("bob", "manage_security")
	c := ccCreate(`{"search":[{"names":["a"]}]}`)
	c.RoleDescriptors = json.RawMessage(`{"r":{"cluster":["all"]}}`)
	if _, err := DecideCreateKey(p, c, "k1", HashSecret([]byte("s")), t0); !IsKind(err, KindInvalid) {
		t.Fatalf("cross-cluster key with role descriptors: %v", err)
	}
	rest := CreateKey{Tenant: "org1", Scope: ScopeProject, Project: "p1", Name: "r", Access: json.RawMessage(`{"search":[{"names":["a"]}]}`)}
	if _, err := DecideCreateKey(p, rest, "k1", HashSecret([]byte("s")), t0); !IsKind(err, KindInvalid) {
		t.Fatalf("rest key with access: %v", err)
	}
	if _, err := DecideCreateKey(p, ccCreate(""), "k1", HashSecret([]byte("s")), t0); !IsKind(err, KindInvalid) || ReasonOf(err) != "Required [access]" {
		t.Fatalf("cross-cluster key without access: %v", err)
	}
}

// ccKey is a folded cross-cluster key of bob's with search access.
func ccKey(t *testing.T, owner Principal) Key {
	t.Helper()
	ev, err := DecideCreateKey(owner, ccCreate(`{"search":[{"names":["a"]}]}`), "k1", HashSecret([]byte("s")), t0)
	if err != nil {
		t.Fatal(err)
	}
	return fold(t, NewEvent("e1", "org1", AggKey, "k1", Meta{Actor: owner.Actor(), Time: t0}, ev))
}

func TestEachUpdateAPIRefusesTheOtherKeyType(t *testing.T) {
	bob := projectUser("bob", "manage_security")
	cc := ccKey(t, bob)
	restEv, err := DecideCreateKey(bob, CreateKey{Tenant: "org1", Scope: ScopeProject, Project: "p1", Name: "r"}, "k2", HashSecret([]byte("s")), t0)
	if err != nil {
		t.Fatal(err)
	}
	rest := fold(t, NewEvent("e2", "org1", AggKey, "k2", Meta{Actor: bob.Actor(), Time: t0}, restEv))
	md := map[string]any{}
	if _, err := DecideUpdateKey(bob, &cc, UpdateKey{Metadata: &md, ExpectType: ESTypeRest}, t0); ReasonOf(err) != "cannot update API key of type [cross_cluster] while expected type is [rest]" {
		t.Fatalf("rest update of a cross-cluster key: %v", err)
	}
	if _, err := DecideUpdateKey(bob, &rest, UpdateKey{Metadata: &md, ExpectType: ESTypeCrossCluster}, t0); ReasonOf(err) != "cannot update API key of type [rest] while expected type is [cross_cluster]" {
		t.Fatalf("cross-cluster update of a rest key: %v", err)
	}
	if _, err := DecideUpdateKey(bob, &cc, UpdateKey{RoleDescriptors: json.RawMessage(`{}`)}, t0); !IsKind(err, KindInvalid) {
		t.Fatalf("role descriptors of a cross-cluster key: %v", err)
	}
	up, err := DecideUpdateKey(bob, &cc, UpdateKey{Access: json.RawMessage(`{"replication":[{"names":["b"]}]}`), ExpectType: ESTypeCrossCluster, SnapshotLimits: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if up.LimitedBy != nil || jsonOf(t, (*up.RoleDescriptors)["cross_cluster"].Cluster) != `["cross_cluster_replication"]` {
		t.Fatalf("update %s: want replication's descriptor and no limited_by", jsonOf(t, up))
	}
	weak := projectUser("bob", "manage_own_api_key")
	if _, err := DecideUpdateKey(weak, &cc, UpdateKey{Metadata: &md}, t0); !IsKind(err, KindForbidden) {
		t.Fatalf("owner without manage_security updating its cross-cluster key: %v", err)
	}
}

func TestInvalidatingACrossClusterKeyNeedsManageSecurity(t *testing.T) {
	cc := ccKey(t, projectUser("bob", "manage_security"))
	for _, p := range []Principal{projectUser("bob", "manage_api_key"), projectUser("bob", "manage_own_api_key")} {
		_, _, err := DecideInvalidateKey(p, &cc)
		if !IsKind(err, KindForbidden) || ReasonOf(err) != "Cannot invalidate cross-cluster API key [k1]. This requires [manage_security] cluster privilege or higher" {
			t.Fatalf("%v: %v", p.Permission, err)
		}
	}
	if _, fresh, err := DecideInvalidateKey(projectUser("carl", "manage_security"), &cc); err != nil || !fresh {
		t.Fatalf("manage_security invalidating another's cross-cluster key: %v", err)
	}
}

func TestKeyCreatedOfOneVersionNamingTheOtherVersionsTypeIsRefused(t *testing.T) {
	for _, tt := range []struct {
		v   int
		typ string
	}{{1, "cross_cluster"}, {2, "personal"}} {
		ev := Event{Type: "KeyCreated", Version: tt.v, Data: json.RawMessage(`{"key_id":"k","type":"` + tt.typ + `","hash":"sha256:` + strings.Repeat("ab", 32) + `"}`)}
		if _, err := ev.Decode(); err == nil {
			t.Fatalf("KeyCreated v%d of a %s key was read", tt.v, tt.typ)
		}
	}
}

// FuzzCrossClusterAccess: any access is refused as a 400 or derives a
// descriptor whose shown access derives the same descriptor again (what
// get shows feeds update unchanged), and that descriptor parses as one.
func FuzzCrossClusterAccess(f *testing.F) {
	for _, s := range []string{`{"search":[{"names":["logs-*"],"query":{"match_all":{}}}]}`, `{"replication":[{"names":"a","allow_restricted_indices":true}]}`,
		`{"search":[{"names":["a"]}],"replication":[{"names":["b"]}]}`, `{"search":[{"names":["a"],"field_security":{"grant":["*"]}}]}`, `{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := ParseCrossClusterAccess(raw)
		var rds RoleDescriptors
		if err == nil {
			rds, err = a.Descriptors()
		}
		if err != nil {
			if !IsKind(err, KindInvalid) {
				t.Fatalf("%q: %v error %v, want invalid", raw, KindOf(err), err)
			}
			return
		}
		shown, _ := json.Marshal(CrossClusterAccessOf(rds))
		b, err := ParseCrossClusterAccess(shown)
		if err != nil {
			t.Fatalf("%q: shown access %s does not parse: %v", raw, shown, err)
		}
		again, err := b.Descriptors()
		once, _ := json.Marshal(rds)
		twice, _ := json.Marshal(again)
		if err != nil || string(once) != string(twice) {
			t.Fatalf("%q: shown %s derives %s (%v), not %s", raw, shown, twice, err, once)
		}
		if _, err := ParseRoleDescriptors(once); err != nil {
			t.Fatalf("%q: derived descriptors %s do not parse: %v", raw, once, err)
		}
	})
}
