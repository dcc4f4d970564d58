package eventlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestSnapshotsAreStoredReplacedAndReadBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if b, err := l.GetSnapshot(ctx, "projections"); b != nil || err != nil {
		t.Fatalf("nothing stored yet: %d bytes, %v", len(b), err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: several chunks
	for _, want := range [][]byte{big, []byte("second")} {
		if err := l.PutSnapshot(ctx, "projections", want); err != nil {
			t.Fatal(err)
		}
		got, err := l.GetSnapshot(ctx, "projections")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(want))
		}
	}
}
