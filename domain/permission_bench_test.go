package domain

import (
	"encoding/json"
	"testing"
)

// BenchmarkPermissionAllows is the check of every console and API request
// (Principal.Authorize): a key with its own descriptors, bounded by its
// owner's role, asked for an action it holds and one it does not.
func BenchmarkPermissionAllows(b *testing.B) {
	key, err := ParseRoleDescriptors(json.RawMessage(`{"k":{"cluster":["manage_own_api_key","cluster:monitor/keyplane/*"]}}`))
	if err != nil {
		b.Fatal(err)
	}
	p := Permission{key, RolePermission(RoleAdmin)}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allows(ActionInvalidateKey, true) || p.Allows(ActionCreateKey, false) {
			b.Fatal("wrong answer")
		}
	}
}
