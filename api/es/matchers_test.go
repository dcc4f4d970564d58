package es_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/api/es"
)

// Against the server: two paths into the keys' array keep both fields (the
// old merge kept the last path's array only).
func TestFilterPathKeepsFieldsOfSeveralPathsInOneArray(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "fp-key", "metadata": {"team": {"id": "t1"}}}`).Must(t, 200)
	got := esDo(t, "GET", a.URL()+"/_security/api_key?name=fp-key&filter_path=api_keys.id,api_keys.name,**.team.id", owner, nil).Must(t, 200)
	keys, _ := got.Body["api_keys"].([]any)
	if len(got.Body) != 1 || len(keys) != 1 {
		t.Fatalf("filtered answer: %s", got.Raw)
	}
	k, _ := keys[0].(map[string]any)
	meta, _ := k["metadata"].(map[string]any)
	if len(k) != 3 || k["id"] == nil || k["name"] != "fp-key" || !reflect.DeepEqual(meta, map[string]any{"team": map[string]any{"id": "t1"}}) {
		t.Fatalf("filtered key: %s", got.Raw)
	}
}

// A query evaluates on a copy of the project's records, without the key
// index's lock: parked in the middle of its evaluation (the test hook), it
// holds up neither a create nor a revoke, both of which fold into the
// index before they answer. With the evaluation under the read lock, as
// before, both waited for the query to finish.
func TestAQueryBeingEvaluatedHoldsUpNoCreateOrRevoke(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	k := esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "to-revoke"}`).Must(t, 200)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer es.SetSearchHook(func() {
		once.Do(func() { close(entered); <-release })
	})()
	queried := make(chan esResp, 1)
	go func() {
		queried <- esDo(t, "POST", a.URL()+"/_security/_query/api_key", owner, `{"query": {"wildcard": {"name": "*revoke*"}}}`)
	}()
	deadline := time.After(10 * time.Second)
	select {
	case <-entered:
	case <-deadline:
		t.Fatal("the query never reached its evaluation")
	}
	done := make(chan [2]esResp, 1)
	go func() {
		created := esDo(t, "POST", a.URL()+"/_security/api_key", owner, `{"name": "created-meanwhile"}`)
		done <- [2]esResp{created, esDo(t, "DELETE", a.URL()+"/_security/api_key", owner, `{"ids": ["`+k.Str("id")+`"]}`)}
	}()
	select {
	case got := <-done:
		got[0].Must(t, 200)
		got[1].Must(t, 200)
	case <-deadline:
		close(release)
		t.Fatal("a create and a revoke waited for a query's evaluation")
	}
	esDo(t, "GET", a.URL()+"/_security/_authenticate", "ApiKey "+k.Str("encoded"), nil).Must(t, 401)
	close(release)
	// The query goes on with the records it copied.
	q := (<-queried).Must(t, 200)
	keys, _ := q.Body["api_keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("query: %s", q.Raw)
	}
}

// _has_privileges at the limits (64 index patterns of 255 bytes, asked
// about 64 names of 255 bytes and two privileges, about 8,000 checks)
// allocates a few hundred KB: the old check kept a memo of pattern × name
// bytes for each pattern it tried, 142 MB for this request (and a 60 KB
// pattern against a 60 KB name took 3.6 GB, issue 20). The server runs in this process, so
// its allocations are this process's.
func TestHasPrivilegesAtTheLimitsAllocatesLittle(t *testing.T) {
	a := startApp(t)
	owner := basic(ownerAuth)
	const n = 255
	var entries []map[string]any
	for i := 0; i < 16; i++ {
		entries = append(entries, map[string]any{"privileges": []string{"read"}, "names": []string{
			strings.Repeat("*a", n/2) + "*", "*" + strings.Repeat("a?", n/2-2) + "b*", "*" + strings.Repeat("a", n-3) + "b*", strings.Repeat("a", n-1) + "*"}})
	}
	create, _ := json.Marshal(map[string]any{"name": "hp", "role_descriptors": map[string]any{"r": map[string]any{"indices": entries}}})
	k := esDo(t, "POST", a.URL()+"/_security/api_key", owner, string(create)).Must(t, 200)
	var names []string
	for i := 0; i < 64; i++ {
		names = append(names, strings.Repeat("a", n-3)+fmt.Sprintf("%03d", i))
	}
	req, _ := json.Marshal(map[string]any{"index": []any{map[string]any{"names": names, "privileges": []string{"read", "write"}}}})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := esDo(t, "POST", a.URL()+"/_security/user/_has_privileges", "ApiKey "+k.Str("encoded"), string(req)).Must(t, 200)
	runtime.ReadMemStats(&after)
	if got.Body["has_all_requested"] != false {
		t.Fatalf("answer: %s", got.Raw)
	}
	index, _ := got.Body["index"].(map[string]any)
	if first, _ := index[names[0]].(map[string]any); len(index) != 64 || first["read"] != true || first["write"] != false {
		t.Fatalf("answer: %s", got.Raw)
	}
	if used := after.TotalAlloc - before.TotalAlloc; used > 8<<20 {
		t.Fatalf("one _has_privileges request allocated %d MB", used>>20)
	}
}
