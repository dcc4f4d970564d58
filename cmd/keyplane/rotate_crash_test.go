package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/internal/testwait"
)

// rotate sends one rotation of key id with an Idempotency-Key and returns
// the successor if the 201 reached the client.
func rotate(ctx context.Context, client *http.Client, addr, id string) (acked, bool) {
	return post(ctx, client, "http://"+addr+"/api/v1/orgs/default/api-keys/"+id+"/_rotate", id, "rotate-"+id, map[string]any{"grace": "1h"})
}

// TestRotationsSurviveSIGKILLWhole: concurrent rotations against a child
// process killed with SIGKILL mid-burst. After a restart no rotation is
// half there: every old key that names a successor has one that names it
// back, and the reverse (a rotation is one atomic append, so a crash cannot
// fall between its two writes); every acknowledged successor authenticates;
// and each rotation retried with its Idempotency-Key answers the successor
// that was written, or makes the one that was not.
func TestRotationsSurviveSIGKILLWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs keyplane as a child process")
	}
	const keys, killAfter = 400, 100
	dir := t.TempDir()
	c := testproc.StartReplica(t, "keyplane", "--data-dir", dir)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	ids := make(chan string, keys)
	parallel(keys, func(i int) {
		var k acked
		// A loaded machine may answer 503: the Idempotency-Key makes the
		// retry safe.
		if !testwait.Until(60*time.Second, func() (ok bool) {
			k, ok = create(context.Background(), client, c.Addr, fmt.Sprintf("rot-%d", i))
			return ok
		}) {
			t.Errorf("create %d failed", i)
		}
		ids <- k.id
	})
	close(ids)
	if t.Failed() {
		t.FailNow()
	}
	got := burstUntilKill(32, ids, killAfter, c.Kill, func(id string) (acked, bool) {
		return rotate(context.Background(), client, c.Addr, id)
	})
	if len(got) < killAfter {
		t.Fatalf("only %d rotations acknowledged before the kill", len(got))
	}

	r := testproc.StartReplica(t, "keyplane-restarted", "--data-dir", dir)
	list := testhttp.Do(t, "GET", r.URL()+"/api/v1/orgs/default/api-keys?name=rot-*&size=10000", nil, "Authorization", ownerAuth)
	if list.Status != 200 {
		t.Fatalf("list: %d %s", list.Status, list.Raw)
	}
	byID := map[string]map[string]any{}
	for _, k := range list.Body["api_keys"].([]any) {
		byID[k.(map[string]any)["id"].(string)] = k.(map[string]any)
	}
	rotated, successors := 0, 0
	for id, k := range byID {
		if to, _ := k["rotated_to"].(string); to != "" {
			rotated++
			if byID[to] == nil || byID[to]["rotated_from"] != id {
				t.Fatalf("key %s names successor %s, which does not name it back: %v", id, to, byID[to])
			}
			if exp := int64(k["expiration"].(float64)); exp-int64(k["creation"].(float64)) > int64(time.Hour/time.Millisecond)+60_000 {
				t.Fatalf("key %s was rotated but keeps its old expiry", id)
			}
		}
		if from, _ := k["rotated_from"].(string); from != "" {
			successors++
			if byID[from] == nil || byID[from]["rotated_to"] != id {
				t.Fatalf("successor %s names %s, which does not name it back", id, from)
			}
		}
	}
	if rotated != successors || rotated < len(got) || len(byID) != keys+successors {
		t.Fatalf("%d rotated keys, %d successors, %d acknowledged, %d keys", rotated, successors, len(got), len(byID))
	}
	for _, k := range got {
		if res := testhttp.Do(t, "GET", r.URL()+"/api/v1/whoami", nil, "Authorization", "ApiKey "+k.encoded); res.Status != 200 {
			t.Fatalf("acknowledged successor %s: %d", k.id, res.Status)
		}
	}
	// Retried with its Idempotency-Key, every rotation now completes once.
	var olds []string
	for id, k := range byID {
		if k["rotated_from"] == nil {
			olds = append(olds, id)
		}
	}
	var replayed atomic.Int64
	parallel(len(olds), func(i int) {
		id := olds[i]
		var out acked
		if !testwait.Until(60*time.Second, func() (ok bool) {
			out, ok = rotate(context.Background(), client, r.Addr, id)
			return ok
		}) {
			t.Errorf("the retried rotation of %s failed", id)
			return
		}
		if to, _ := byID[id]["rotated_to"].(string); to != "" {
			if out.id != to {
				t.Errorf("the retry of %s answered %s, not the successor written before the kill, %s", id, out.id, to)
			}
			replayed.Add(1)
		}
	})
	t.Logf("killed after %d acks; %d rotations whole in the log (%d acknowledged), none half; %d retries answered the written successor",
		killAfter, rotated, len(got), replayed.Load())
}

// parallel runs f(0..n-1) on 32 goroutines.
func parallel(n int, f func(i int)) {
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	wg.Wait()
}
