package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles keyplane once for the tests that run it as a child.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "keyplane-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "keyplane")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// child is keyplane serve running as a separate process.
type child struct {
	cmd  *exec.Cmd
	addr string
}

var servingRE = regexp.MustCompile(`msg="keyplane serving" addr=(\S+)`)

func startChild(t *testing.T, dataDir string) *child {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KEYPLANE_BOOTSTRAP_OWNER=alice:alice-password")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		c := &child{cmd: cmd, addr: a}
		t.Cleanup(func() { c.kill() })
		return c
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("keyplane did not start")
	}
	return nil
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = c.cmd.Process.Wait()
	}
}

type acked struct {
	name, id, encoded string
}

// create sends one create with an Idempotency-Key and returns the key if
// the 201 reached the client.
func create(ctx context.Context, client *http.Client, addr, name string) (acked, bool) {
	body, _ := json.Marshal(map[string]any{"name": name})
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/v1/orgs/default/api-keys", bytes.NewReader(body))
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:alice-password")))
	req.Header.Set("Idempotency-Key", name)
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
			c := startChild(t, dir)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
			var (
				mu   sync.Mutex
				got  []acked
				acks atomic.Int64
				wg   sync.WaitGroup
			)
			names := make(chan string, 2000)
			for i := 0; i < 2000; i++ {
				names <- fmt.Sprintf("crash-%d-%d", killAfter, i)
			}
			close(names)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for w := 0; w < 50; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for name := range names {
						if k, ok := create(ctx, client, c.addr, name); ok {
							mu.Lock()
							got = append(got, k)
							mu.Unlock()
							if acks.Add(1) == killAfter {
								c.kill()
							}
						}
					}
				}()
			}
			wg.Wait()
			c.kill()
			if len(got) < int(killAfter) {
				t.Fatalf("only %d creates acknowledged before the kill", len(got))
			}

			r := startChild(t, dir)
			check := func(path, auth string) map[string]any {
				req, _ := http.NewRequest("GET", "http://"+r.addr+path, nil)
				req.Header.Set("Authorization", auth)
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(res.Body).Decode(&out)
				if res.StatusCode != 200 {
					t.Fatalf("%s: status %d %v", path, res.StatusCode, out)
				}
				return out
			}
			owner := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-password"))
			for _, k := range got {
				check("/api/v1/whoami", "ApiKey "+k.encoded)
				list := check("/api/v1/orgs/default/api-keys?name="+k.name, owner)
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
	c := startChild(t, t.TempDir())
	res, err := http.Get("http://" + c.addr + "/api/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("unauthenticated whoami: %d", res.StatusCode)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("keyplane did not stop on SIGTERM")
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
