package eventlog

import (
	"bytes"
	"path/filepath"
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

// An embedded log keeps a copy of the snapshot it stores, readable before
// the log opens, and says whether it is still the one stored: a snapshot
// stored without it (by a replica connected to this server) makes it
// stale, until a read of the store copies that one.
func TestTheLocalCopyOfASnapshotIsCurrentUntilAnotherIsStored(t *testing.T) {
	ctx := t.Context()
	l := openTest(t)
	copyOf := func() LocalSnapshot {
		t.Helper()
		c, err := ReadLocalSnapshot(l.opts, "projections", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := copyOf(); c.Bytes != nil {
		t.Fatalf("a copy before any snapshot: %q", c.Bytes)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: several chunks
	for _, want := range [][]byte{big, []byte("second")} {
		if err := l.PutSnapshot(ctx, "projections", want); err != nil {
			t.Fatal(err)
		}
		c := copyOf()
		if current, err := l.Current(ctx, c); !bytes.Equal(c.Bytes, want) || !current || err != nil {
			t.Fatalf("copy of %d bytes, current %v (%v); want the %d bytes just stored, current", len(c.Bytes), current, err, len(want))
		}
	}
	stale := copyOf()
	obs, err := l.JetStream().ObjectStore(ctx, snapshotBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, "projections", []byte("third, from elsewhere")); err != nil {
		t.Fatal(err)
	}
	if current, err := l.Current(ctx, stale); current || err != nil {
		t.Fatalf("the copy of the second snapshot is current (%v) after a third was stored", err)
	}
	if got, err := l.GetSnapshot(ctx, "projections"); err != nil || string(got) != "third, from elsewhere" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if c := copyOf(); string(c.Bytes) != "third, from elsewhere" {
		t.Fatalf("the store's snapshot was not copied when read: copy %q", c.Bytes)
	}
	if err := l.JetStream().DeleteObjectStore(ctx, snapshotBucket); err != nil {
		t.Fatal(err)
	}
	if current, err := l.Current(ctx, copyOf()); current {
		t.Fatalf("a copy is current (%v) with the store gone", err)
	}
}

// A log on an external server keeps no copy: its data dir is not the
// log's, and several replicas may share one.
func TestALogOnAnExternalServerReadsNoLocalCopy(t *testing.T) {
	dir := t.TempDir()
	if err := writeLocal(filepath.Join(dir, "snapshots"), filepath.Join(dir, "snapshots", "projections"), "nuid", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{URL: "nats://127.0.0.1:4222", DataDir: dir}, {}} {
		if c, err := ReadLocalSnapshot(o, "projections", nil); c.Bytes != nil || err != nil {
			t.Fatalf("%+v: read a copy %q (%v)", o, c.Bytes, err)
		}
	}
	if c, _ := ReadLocalSnapshot(Options{DataDir: dir}, "projections", nil); string(c.Bytes) != "x" {
		t.Fatalf("the embedded log's copy reads %q", c.Bytes)
	}
}
