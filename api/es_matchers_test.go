package api_test

import (
	"reflect"
	"testing"
)

// Against the server: two paths into the keys' array keep both fields (the
// old merge kept the last path's array only).
func TestFilterPathKeepsFieldsOfSeveralPathsInOneArray(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "fp-key", "metadata": {"team": {"id": "t1"}}}`).must(t, 200)
	got := esDo(t, "GET", a.URL()+"/_security/api_key?name=fp-key&filter_path=api_keys.id,api_keys.name,**.team.id", owner, nil).must(t, 200)
	keys, _ := got.body["api_keys"].([]any)
	if len(got.body) != 1 || len(keys) != 1 {
		t.Fatalf("filtered answer: %s", got.raw)
	}
	k, _ := keys[0].(map[string]any)
	meta, _ := k["metadata"].(map[string]any)
	if len(k) != 3 || k["id"] == nil || k["name"] != "fp-key" || !reflect.DeepEqual(meta, map[string]any{"team": map[string]any{"id": "t1"}}) {
		t.Fatalf("filtered key: %s", got.raw)
	}
}
