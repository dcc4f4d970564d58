package clustertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/internal/testwait"
)

const keysPath = "/api/v1/orgs/default/api-keys"

var ownerAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testproc.Owner))

// client is an HTTP client with short timeouts: a request to a dead
// replica fails fast and is retried elsewhere.
var client = &http.Client{
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	Timeout:   20 * time.Second,
}

// answer is a response: status, Retry-After and the JSON body.
type answer struct {
	status     int
	retryAfter string
	header     http.Header
	body       map[string]any
	raw        string
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// call sends one request; err is a transport failure (no answer).
func call(ctx context.Context, method, url, auth string, body any, hdr ...string) (answer, error) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a, nil
}

// must sends a request that has to answer status.
func must(t testing.TB, method, url, auth string, body any, status int) answer {
	t.Helper()
	a, err := call(context.Background(), method, url, auth, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if a.status != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, a.status, status, a.raw)
	}
	return a
}

// key is a created key as its creator saw it acknowledged.
type key struct {
	name, id, encoded string
}

// create sends one create with an Idempotency-Key (the name).
func create(ctx context.Context, base, name string) (key, answer, error) {
	a, err := call(ctx, "POST", base+keysPath, ownerAuth, map[string]any{"name": name}, "Idempotency-Key", name)
	if err != nil || a.status != http.StatusCreated {
		return key{}, a, err
	}
	return key{name: name, id: a.str("id"), encoded: a.str("encoded")}, a, nil
}

// waitStatus polls until GET path with auth (and hdr) answers status.
func waitStatus(t testing.TB, base, path, auth string, status int, timeout time.Duration, hdr ...string) {
	t.Helper()
	var a answer
	var err error
	if !testwait.Until(timeout, func() bool {
		a, err = call(context.Background(), "GET", base+path, auth, nil, hdr...)
		return err == nil && a.status == status
	}) {
		t.Fatalf("GET %s%s did not answer %d within %v (last: %d %v %s)", base, path, status, timeout, a.status, err, a.raw)
	}
}

// keysNamed lists the keys whose name matches pattern, as base sees them:
// how many there are per name.
func keysNamed(t testing.TB, base, pattern string) map[string]int {
	t.Helper()
	a := must(t, "GET", base+keysPath+"?size=10000&name="+pattern, ownerAuth, nil, http.StatusOK)
	out := map[string]int{}
	list, _ := a.body["api_keys"].([]any)
	for _, k := range list {
		out[k.(map[string]any)["name"].(string)]++
	}
	if total := int(a.body["total"].(float64)); total != len(list) {
		t.Fatalf("list of %s is cut: %d of %d", pattern, len(list), total)
	}
	return out
}

// checkAllOnce fails unless every acknowledged key exists exactly once on
// the replica at base and authenticates there.
func checkAllOnce(t testing.TB, base, pattern string, acked map[string]key) {
	t.Helper()
	// A replica sees what others wrote a moment later (after a failover,
	// seconds): wait until it shows every acknowledged key, then count.
	var counts map[string]int
	testwait.Until(30*time.Second, func() bool {
		counts = keysNamed(t, base, pattern)
		return missing(counts, acked) == 0
	})
	for name, k := range acked {
		if counts[name] != 1 {
			t.Errorf("%s: acknowledged key %s exists %d times", base, name, counts[name])
			continue
		}
		must(t, "GET", base+"/api/v1/whoami", "ApiKey "+k.encoded, nil, http.StatusOK)
	}
	dups := 0
	for _, n := range counts {
		if n > 1 {
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%s: %d names exist more than once", base, dups)
	}
}

// missing counts the acknowledged keys absent from counts.
func missing(counts map[string]int, acked map[string]key) int {
	n := 0
	for name := range acked {
		if counts[name] == 0 {
			n++
		}
	}
	return n
}

// readyz reads a replica's readiness.
func readyz(base string) (answer, error) {
	return call(context.Background(), "GET", base+"/readyz", "", nil)
}

// streamLeader is the name of the server leading the event stream, as a
// replica's /readyz reports it.
func streamLeader(t testing.TB, base string) string {
	t.Helper()
	var a answer
	var err error
	var leader string
	if !testwait.Until(30*time.Second, func() bool {
		if a, err = readyz(base); err == nil {
			if s, ok := a.body["stream"].(map[string]any); ok {
				leader, _ = s["leader"].(string)
			}
		}
		return leader != ""
	}) {
		t.Fatalf("no stream leader reported by %s: %v %s", base, err, a.raw)
	}
	return leader
}

func keyName(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }
