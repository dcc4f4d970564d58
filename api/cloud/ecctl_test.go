package cloud_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
)

// ecctlBin is ecctl v1.15.0, built once per test binary from the pinned
// module in testdata/ecctl (its go.mod and go.sum).
var ecctlBin struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
	out  string
}

// buildEcctl builds ecctl with the go command of this toolchain into a
// directory that outlives the test that first asks.
func buildEcctl(t *testing.T) string {
	t.Helper()
	ecctlBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "keyplane-ecctl-")
		if err != nil {
			ecctlBin.err = err
			return
		}
		ecctlBin.dir = dir
		src, err := filepath.Abs("testdata/ecctl")
		if err != nil {
			ecctlBin.err = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		bin := filepath.Join(dir, "ecctl")
		cmd := exec.Command(goBin, "build", "-mod=readonly", "-o", bin, "github.com/elastic/ecctl")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		ecctlBin.path, ecctlBin.err, ecctlBin.out = bin, err, string(out)
	})
	if ecctlBin.err != nil {
		t.Fatalf("building ecctl v1.15.0 from testdata/ecctl: %v\n%s", ecctlBin.err, ecctlBin.out)
	}
	return ecctlBin.path
}

// ecctl runs ecctl against keyplane with an Elastic Cloud key, its
// configuration in an empty home, and returns its output and exit error.
func ecctl(t *testing.T, bin string, a *app.App, key string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	full := append([]string{"--host", a.URL(), "--api-key", key, "--output", "json", "--force", "--quiet"}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = strings.NewReader("y\n")
	err := cmd.Run()
	return out.String(), err
}

// ecctlKey is a key ecctl printed as JSON.
type ecctlKey struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Key         string `json:"key"`
	UserID      string `json:"user_id"`
}

func TestEcctlCreatesListsShowsAndDeletesKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ecctl")
	}
	bin := buildEcctl(t)
	a := testapp.Start(t)
	boot := createKey(t, a, owner, map[string]any{"description": "ecctl"}).Must(t, 201).Str("key")

	var made []ecctlKey
	for _, d := range []string{"first", "second", "third"} {
		out, err := ecctl(t, bin, a, boot, "auth", "key", "create", "--description", d)
		var k ecctlKey
		if err != nil || json.Unmarshal([]byte(out), &k) != nil || k.ID == "" || k.Key == "" || k.Description != d || k.UserID != testapp.Owner {
			t.Fatalf("ecctl auth key create: %v\n%s", err, out)
		}
		made = append(made, k)
	}
	// The key ecctl shows is a credential ecctl itself can use.
	out, err := ecctl(t, bin, a, made[0].Key, "auth", "key", "list")
	var list struct{ Keys []ecctlKey }
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Keys) != 4 {
		t.Fatalf("ecctl auth key list: %v\n%s", err, out)
	}
	if strings.Contains(out, made[1].Key) {
		t.Fatalf("a listed key shows its secret:\n%s", out)
	}
	out, err = ecctl(t, bin, a, boot, "auth", "key", "show", "--", made[1].ID)
	var shown ecctlKey
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.ID != made[1].ID || shown.Key != "" {
		t.Fatalf("ecctl auth key show: %v\n%s", err, out)
	}

	if out, err := ecctl(t, bin, a, boot, "auth", "key", "delete", "--", made[0].ID); err != nil {
		t.Fatalf("ecctl auth key delete: %v\n%s", err, out)
	}
	if out, err := ecctl(t, bin, a, boot, "auth", "key", "delete", "--", made[1].ID, made[2].ID); err != nil {
		t.Fatalf("ecctl auth key delete of two: %v\n%s", err, out)
	}
	out, err = ecctl(t, bin, a, boot, "auth", "key", "show", "--", made[0].ID)
	if err == nil || !strings.Contains(out, "api_keys.key_not_found") {
		t.Fatalf("ecctl auth key show of a deleted key: %v\n%s", err, out)
	}
	if out, err := ecctl(t, bin, a, made[2].Key, "auth", "key", "list"); err == nil {
		t.Fatalf("a deleted key still lists:\n%s", out)
	}
	out, err = ecctl(t, bin, a, boot, "auth", "key", "list")
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Keys) != 1 {
		t.Fatalf("after the deletes: %v\n%s", err, out)
	}
}
