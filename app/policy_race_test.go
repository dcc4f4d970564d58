package app

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentCreatesDoNotPassMaxActiveKeys sends twenty creates at once
// to an organization whose policy allows three active keys: at most three
// may be created, however the commands interleave.
func TestConcurrentCreatesDoNotPassMaxActiveKeys(t *testing.T) {
	pa := startPolicyApp(t)
	pa.alice.do("PUT", policyPath, map[string]any{"max_active_keys": 3}).must(t, 200)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = pa.alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": fmt.Sprint("race-", i)}).status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == 201 {
			created++
		}
	}
	r := pa.alice.do("GET", policyPath, nil).must(t, 200)
	if active := r.body["effective"].(map[string]any)["active_keys"]; created > 3 || active != float64(3) {
		t.Fatalf("%d creates answered 201, %v keys active; max_active_keys is 3 (statuses %v)", created, active, statuses)
	}
}
