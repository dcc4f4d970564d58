package eventlog

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestADataDirServesOneProcessAtATime(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	first, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(ctx, o); err == nil || !strings.Contains(err.Error(), "in use") {
		if second != nil {
			second.Close()
		}
		first.Close()
		t.Fatalf("a second open of a data dir in use: %v", err)
	}
	first.Close()
	again, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("the lock outlived Close: %v", err)
	}
	again.Close()
}
