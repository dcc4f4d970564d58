package eventlog

import (
	"bytes"
	"os"
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

// An embedded log keeps a copy of the snapshot it saves, readable before
// the log opens, and says whether it is still the one stored: a snapshot
// stored without it (by a replica connected to this server) makes it
// stale, until the caller keeps a copy of that one, read from the store.
func TestTheLocalCopyOfASnapshotIsCurrentUntilAnotherIsStored(t *testing.T) {
	ctx := t.Context()
	l := openTest(t)
	copyOf := func() Snapshot {
		t.Helper()
		c, err := ReadLocalSnapshot(l.opts, "projections")
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
		if err := l.SaveSnapshot(ctx, "projections", want); err != nil {
			t.Fatal(err)
		}
		c := copyOf()
		if current, err := l.Current(ctx, c); !bytes.Equal(c.Bytes, want) || !current || err != nil {
			t.Fatalf("copy of %d bytes, current %v (%v); want the %d bytes just saved, current", len(c.Bytes), current, err, len(want))
		}
	}
	// A snapshot only put (unchecked) is not copied.
	if err := l.PutSnapshot(ctx, "projections", []byte("third, unchecked")); err != nil {
		t.Fatal(err)
	}
	if current, err := l.Current(ctx, copyOf()); current || err != nil || string(copyOf().Bytes) != "second" {
		t.Fatalf("the copy is %q, current %v (%v), after a snapshot was put", copyOf().Bytes, current, err)
	}
	s, err := l.ReadSnapshot(ctx, "projections", nil)
	if err != nil || string(s.Bytes) != "third, unchecked" {
		t.Fatalf("read back %q, %v", s.Bytes, err)
	}
	l.KeepLocal(s)
	if c := copyOf(); string(c.Bytes) != "third, unchecked" {
		t.Fatalf("the snapshot read and kept was not copied: copy %q", c.Bytes)
	}
	if err := l.JetStream().DeleteObjectStore(ctx, snapshotBucket); err != nil {
		t.Fatal(err)
	}
	if current, err := l.Current(ctx, copyOf()); current {
		t.Fatalf("a copy is current (%v) with the store gone", err)
	}
}

// A copy that does not read back whole is refused, not restored from.
func TestADamagedLocalCopyIsRefused(t *testing.T) {
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"a flipped bit", func(b []byte) []byte { b[len(b)-3] ^= 4; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
		{"no header", func(b []byte) []byte { return b[4:] }},
		{"an older copy", func(b []byte) []byte { b[len(localMagic)-1]--; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "snapshots", "projections")
			if err := writeLocal(filepath.Dir(path), path, "nuid", []byte("a snapshot's bytes")); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.edit(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if c, err := ReadLocalSnapshot(Options{DataDir: dir}, "projections"); err == nil {
				t.Fatalf("read %q from a damaged copy", c.Bytes)
			}
		})
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
		if c, err := ReadLocalSnapshot(o, "projections"); c.Bytes != nil || err != nil {
			t.Fatalf("%+v: read a copy %q (%v)", o, c.Bytes, err)
		}
	}
	if c, _ := ReadLocalSnapshot(Options{DataDir: dir}, "projections"); string(c.Bytes) != "x" {
		t.Fatalf("the embedded log's copy reads %q", c.Bytes)
	}
}

// Where the copy cannot be mapped it is read: the same bytes either way.
func TestALocalCopyReadsTheSameMappedOrNot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshots", "projections")
	want := bytes.Repeat([]byte("0123456789abcdef"), 300<<10) // larger than a read
	if err := writeLocal(filepath.Dir(path), path, "nuid", want); err != nil {
		t.Fatal(err)
	}
	mapped, err := ReadLocalSnapshot(Options{DataDir: dir}, "projections")
	if err != nil || !bytes.Equal(mapped.Bytes, want) {
		t.Fatalf("read %d bytes (%v), want %d", len(mapped.Bytes), err, len(want))
	}
	mapped.Release()
	if !bytes.Equal(mapped.Bytes, want) {
		t.Fatal("the bytes changed once released")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	read, err := readFrom(f, fi.Size()-int64(len(want)), fi.Size())
	if err != nil || !bytes.Equal(read, want) {
		t.Fatalf("read %d bytes (%v) without mapping, want %d", len(read), err, len(want))
	}
}

// A copy whose write a crash cut short (left under its temporary name) is
// removed by the next write, not left beside the copies for good.
func TestACopyLeftHalfWrittenByACrashIsRemovedByTheNextSave(t *testing.T) {
	l := openTest(t)
	dir := localSnapshotDir(l.opts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	torn, err := os.CreateTemp(dir, localTemp)
	if err != nil {
		t.Fatal(err)
	}
	torn.Close()
	if err := l.SaveSnapshot(t.Context(), "projections", []byte("saved")); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Name() != "projections" {
		t.Fatalf("the copies' directory holds %v, want only the copy", left)
	}
}
