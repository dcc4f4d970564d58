package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageFlushOfZeroIsRefused: 0 would flush in a busy loop; a positive
// interval flushes, a negative one turns usage tracking off.
func TestUsageFlushOfZeroIsRefused(t *testing.T) {
	for _, args := range [][]string{{"--usage-flush", "0s"}, {"--usage-flush", "soon"}} {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "usage-flush") {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, code, errOut.String())
		}
	}
}

func TestAUsageFlushFromTheEnvironmentThatIsNoDurationIsRefused(t *testing.T) {
	t.Setenv("KEYPLANE_USAGE_FLUSH", "every minute")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "KEYPLANE_USAGE_FLUSH") {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
}
