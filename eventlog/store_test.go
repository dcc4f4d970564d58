package eventlog_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/eventlog/storetest"
)

func TestLogIsAStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventlog.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l, err := eventlog.Open(ctx, eventlog.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		return l
	})
}
