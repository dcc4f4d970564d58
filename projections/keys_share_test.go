package projections

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// TestRestoredKeysShareEqualRoleDescriptors: keys one user made through
// Elasticsearch's API carry the same limited_by; restored from a snapshot
// they hold one decoded copy of it (and of equal role descriptors), and
// keys with other descriptors their own.
func TestRestoredKeysShareEqualRoleDescriptors(t *testing.T) {
	rds := func(cluster string) domain.RoleDescriptors {
		var v domain.RoleDescriptors
		if err := json.Unmarshal([]byte(`{"r":{"cluster":["`+cluster+`"],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ks := NewKeys()
	for i, c := range []string{"all", "all", "monitor"} {
		id := domain.KeyID("k" + string(rune('0'+i)))
		ev := domain.NewEvent("e", "o1", domain.AggKey, string(id), domain.Meta{Actor: alice, Time: t0.Add(time.Duration(i))},
			domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeOrg, Owner: domain.Owner{User: "alice", Realm: "native"}, Hash: hashHex,
				RoleDescriptors: rds(c), LimitedBy: []domain.RoleDescriptors{rds(c)}})
		ev.Seq = uint64(i + 1)
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	restored := restoreInto(t, ks, NewKeys())
	get := func(id domain.KeyID) domain.Key {
		k, ok := restored.Get("o1", id)
		if !ok {
			t.Fatalf("no key %s", id)
		}
		return k
	}
	a, b, c := get("k0"), get("k1"), get("k2")
	sameMap := func(x, y domain.RoleDescriptors) bool {
		return reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	}
	if &a.LimitedBy[0] != &b.LimitedBy[0] || !sameMap(a.RoleDescriptors, b.RoleDescriptors) {
		t.Error("equal descriptors were restored as two copies")
	}
	if &a.LimitedBy[0] == &c.LimitedBy[0] || sameMap(a.RoleDescriptors, c.RoleDescriptors) || c.LimitedBy[0]["r"].Cluster[0] != "monitor" {
		t.Errorf("other descriptors restored as the first ones: %v", c.LimitedBy)
	}
}
