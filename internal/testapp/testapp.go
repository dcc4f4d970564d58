// Package testapp starts a whole keyplane for the end-to-end tests of the
// packages above app (api, api/console, cmd/keyplane, notifier): its
// embedded JetStream in a temporary directory, HTTP on a loopback port,
// logs discarded, and an owner to act as. It is the one starter those
// tests share; a test that needs more sets the configuration with options.
package testapp

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyplane/keyplane/app"
)

// Owner and Password are the bootstrap owner of every started keyplane.
const Owner, Password = "alice", "alice-password"

// Start runs keyplane with its log in a temporary directory.
func Start(tb testing.TB, opts ...func(*app.Config)) *app.App {
	tb.Helper()
	return StartIn(tb, tb.TempDir(), opts...)
}

// StartIn runs keyplane with its log in dir (a restart reuses it); each
// option adjusts the configuration. The keyplane stops when the test ends.
func StartIn(tb testing.TB, dir string, opts ...func(*app.Config)) *app.App {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := app.Config{DataDir: dir, Addr: "127.0.0.1:0", BootstrapOwner: Owner + ":" + Password, NeverAllowed: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := app.Start(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	return a
}
