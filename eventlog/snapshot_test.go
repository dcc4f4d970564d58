package eventlog

import (
	"bytes"
	"testing"
)

func TestSnapshotsAreStoredReplacedAndReadBack(t *testing.T) {
	ctx := t.Context()
	l := openTest(t)
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

// TestASnapshotStoreDeletedMeanwhileIsMadeAgain: the store is opened once
// and kept, but a store deleted behind the server's back (it is a cache of
// the log) costs at most one failed snapshot, not all the later ones.
func TestASnapshotStoreDeletedMeanwhileIsMadeAgain(t *testing.T) {
	ctx := t.Context()
	l := openTest(t)
	if err := l.PutSnapshot(ctx, "projections", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := l.JetStream().DeleteObjectStore(ctx, snapshotBucket); err != nil {
		t.Fatal(err)
	}
	if err := l.PutSnapshot(ctx, "projections", []byte("second")); err != nil {
		t.Logf("the first put after the deletion failed, as it may: %v", err)
		if err := l.PutSnapshot(ctx, "projections", []byte("second")); err != nil {
			t.Fatalf("the store was not made again: %v", err)
		}
	}
	got, err := l.GetSnapshot(ctx, "projections")
	if err != nil || string(got) != "second" {
		t.Fatalf("read back %q, %v; want second", got, err)
	}
}
