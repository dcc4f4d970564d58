package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testlog"
)

// TestRelaxedFsyncSaysSo: durability is only relaxed out loud.
func TestRelaxedFsyncSaysSo(t *testing.T) {
	for _, tt := range []struct {
		interval time.Duration
		warns    bool
	}{{0, false}, {2 * time.Minute, true}} {
		var logs testlog.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		a, err := Start(ctx, Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, FsyncInterval: tt.interval,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Out: io.Discard})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		if got := strings.Contains(logs.String(), "fsync relaxed"); got != tt.warns {
			t.Errorf("interval %v: warning logged = %v, want %v\n%s", tt.interval, got, tt.warns, logs.String())
		}
	}
}
