package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testproc"
)

type acked struct {
	name, id, encoded string
}

// create sends one create with an Idempotency-Key and returns the key if
// the 201 reached the client.
func create(ctx context.Context, client *http.Client, addr, name string) (acked, bool) {
	return post(ctx, client, "http://"+addr+"/api/v1/orgs/default/api-keys", name, name, map[string]any{"name": name})
}

// ownerAuth is the Authorization of the child process's owner.
var ownerAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testproc.Owner))

// post sends a command that answers a key (a create, a rotation) as the
// owner with an Idempotency-Key, and returns the key, named name, if the
// 201 reached the client.
func post(ctx context.Context, client *http.Client, url, name, idem string, body any) (acked, bool) {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(j))
	req.Header.Set("Authorization", ownerAuth)
	req.Header.Set("Idempotency-Key", idem)
	res, err := client.Do(req)
	if err != nil {
		return acked{}, false
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 201 {
		return acked{}, false
	}
	var out struct{ ID, Encoded string }
	if json.Unmarshal(raw, &out) != nil {
		return acked{}, false
	}
	return acked{name: name, id: out.ID, encoded: out.Encoded}, true
}

// burstUntilKill runs do on every item of in from workers goroutines, kills
// the server once killAfter of them are acknowledged (and again at the end,
// should fewer be), and returns the acknowledged keys.
func burstUntilKill(workers int, in <-chan string, killAfter int64, kill func(), do func(string) (acked, bool)) []acked {
	var (
		mu   sync.Mutex
		got  []acked
		acks atomic.Int64
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for item := range in {
				if k, ok := do(item); ok {
					mu.Lock()
					got = append(got, k)
					mu.Unlock()
					if acks.Add(1) == killAfter {
						kill()
					}
				}
			}
		}()
	}
	wg.Wait()
	kill()
	return got
}

// TestAcknowledgedCreatesSurviveSIGKILL: 2,000 concurrent creates against a
// child process killed with SIGKILL mid-burst; after a restart every create
// whose 201 reached the client exists once and authenticates.
func TestAcknowledgedCreatesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs keyplane as a child process")
	}
	for _, killAfter := range []int64{50, 600, 1400} {
		t.Run(fmt.Sprint("kill-after-", killAfter), func(t *testing.T) {
			dir := t.TempDir()
			c := testproc.StartReplica(t, "keyplane", "--data-dir", dir)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
			names := make(chan string, 2000)
			for i := 0; i < 2000; i++ {
				names <- fmt.Sprintf("crash-%d-%d", killAfter, i)
			}
			close(names)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := burstUntilKill(50, names, killAfter, c.Kill, func(name string) (acked, bool) {
				return create(ctx, client, c.Addr, name)
			})
			if len(got) < int(killAfter) {
				t.Fatalf("only %d creates acknowledged before the kill", len(got))
			}

			r := testproc.StartReplica(t, "keyplane-restarted", "--data-dir", dir)
			check := func(path, auth string) map[string]any {
				res := testhttp.Do(t, "GET", r.URL()+path, nil, "Authorization", auth)
				if res.Status != 200 {
					t.Fatalf("%s: status %d %s", path, res.Status, res.Raw)
				}
				return res.Body
			}
			for _, k := range got {
				check("/api/v1/whoami", "ApiKey "+k.encoded)
				list := check("/api/v1/orgs/default/api-keys?name="+k.name, ownerAuth)
				if list["total"].(float64) != 1 {
					t.Fatalf("key %s exists %v times", k.name, list["total"])
				}
			}
			t.Logf("killed after %d acks; %d acknowledged creates all present once after restart", killAfter, len(got))
		})
	}
}

// TestServeShutsDownOnSIGTERM runs the real program and stops it politely.
func TestServeShutsDownOnSIGTERM(t *testing.T) {
	c := testproc.StartReplica(t, "keyplane", "--data-dir", t.TempDir())
	res, err := http.Get(c.URL() + "/api/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("unauthenticated whoami: %d", res.StatusCode)
	}
	c.Stop(30 * time.Second)
	if code := c.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, c.Tail())
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"serve", "--fsync", "sometimes"}, {"serve", "--nope"}, {"frobnicate"}, {}} {
		if code := Main(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
