package eventlog

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// An embedded server also keeps a copy of each snapshot it stores in its
// data dir, named by the stored object's id (its NUID, new on every put),
// so that a start reads the snapshot while nats-server is still starting
// (recovering a stream of a million subjects takes it most of a second)
// and without the trip through the object store: an ordered consumer, an
// in-process connection and a pipe, each copying 200+ MB, plus the store's
// own SHA-256 of it. The copy is used only once the server is up and says
// that object is still the one stored (LocalSnapshot.Current): a snapshot
// put by a replica connected to this server, or a store emptied behind its
// back, makes the copy stale, and the store is read as before. The copy
// is a cache of a cache: losing or damaging it costs a read of the store.

// localMagic starts a local copy: the magic, the object's NUID (a length
// and its bytes), then the snapshot's bytes.
var localMagic = []byte("KPLOCAL\x00")

// localSnapshotDir is where an embedded server's copies are, "" for a log
// on an external server (whose data dir holds no log).
func localSnapshotDir(o Options) string {
	if o.URL != "" || o.DataDir == "" {
		return ""
	}
	return filepath.Join(o.DataDir, "snapshots")
}

// LocalSnapshot is the local copy of a stored snapshot.
type LocalSnapshot struct {
	Bytes   []byte
	nuid    string
	name    string
	release func()
}

// Release says the bytes were restored from (and copied where kept): a
// mapped copy's pages are dropped from the process. They stay readable.
func (s LocalSnapshot) Release() {
	if s.release != nil {
		s.release()
	}
}

// ReadLocalSnapshot reads the local copy of the snapshot name, if the
// log o opens is embedded and has one, writing its bytes to tee (nil:
// nowhere) as they are read, as ReadSnapshot does. It needs no open log:
// a start calls it while Open starts the server. A zero LocalSnapshot
// means there is no copy; an error, one that cannot be read.
func ReadLocalSnapshot(o Options, name string, tee io.Writer) (LocalSnapshot, error) {
	dir := localSnapshotDir(o)
	if dir == "" {
		return LocalSnapshot{}, nil
	}
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return LocalSnapshot{}, nil
	}
	if err != nil {
		return LocalSnapshot{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return LocalSnapshot{}, err
	}
	r := bufio.NewReaderSize(f, 4096)
	nuid, err := readLocalHeader(r)
	if err != nil {
		return LocalSnapshot{}, fmt.Errorf("local snapshot %s: %w", name, err)
	}
	if m, release, err := mapFile(f, fi.Size()); err == nil {
		head := len(localMagic) + len(binary.AppendUvarint(nil, uint64(len(nuid)))) + len(nuid)
		body := m[head:]
		if tee != nil {
			for p := body; len(p) > 0; {
				k := min(len(p), 4<<20)
				tee.Write(p[:k])
				p = p[k:]
			}
		}
		return LocalSnapshot{Bytes: body, nuid: nuid, name: name, release: release}, nil
	}
	// Read in pieces straight into a buffer of the file's size (one more
	// byte, to see the end without growing it), each handed to tee as it
	// comes: a checksum there runs as the file is read.
	buf := make([]byte, 0, max(fi.Size(), 0)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 1<<20) // the file grew meanwhile
		}
		k, err := r.Read(buf[len(buf):min(cap(buf), len(buf)+4<<20)])
		if k > 0 {
			if tee != nil {
				tee.Write(buf[len(buf) : len(buf)+k])
			}
			buf = buf[:len(buf)+k]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return LocalSnapshot{}, err
		}
	}
	return LocalSnapshot{Bytes: buf, nuid: nuid, name: name}, nil
}

// localNUID is the object the local copy of name copies, "" without one.
func localNUID(o Options, name string) string {
	dir := localSnapshotDir(o)
	if dir == "" {
		return ""
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	defer f.Close()
	nuid, _ := readLocalHeader(bufio.NewReaderSize(f, 128))
	return nuid
}

// readLocalHeader reads a local copy's magic and object id.
func readLocalHeader(r *bufio.Reader) (string, error) {
	magic := make([]byte, len(localMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != string(localMagic) {
		return "", errors.New("not a snapshot copy")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 64 {
		return "", errors.New("malformed header")
	}
	nuid := make([]byte, n)
	if _, err := io.ReadFull(r, nuid); err != nil {
		return "", errors.New("malformed header")
	}
	return string(nuid), nil
}

// DropLocalSnapshot removes the local copy of name, one found unusable:
// the next read of the store copies the snapshot again.
func DropLocalSnapshot(o Options, name string) {
	if dir := localSnapshotDir(o); dir != "" {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// Current says whether s is a copy of the snapshot stored now.
func (l *Log) Current(ctx context.Context, s LocalSnapshot) (bool, error) {
	if s.nuid == "" {
		return false, nil
	}
	obs, err := l.snapshots(ctx)
	if err != nil {
		return false, err
	}
	info, err := obs.GetInfo(ctx, s.name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, l.snapshotFailed("snapshot info", err)
	}
	return info.NUID == s.nuid && !info.Deleted, nil
}

// keepLocal writes the local copy of the snapshot name just stored as
// the object nuid, replacing the last one. A copy it cannot write is
// removed (the last one is stale now) and the failure logged: the store
// is then read on start.
func (l *Log) keepLocal(name, nuid string, b []byte) {
	dir := localSnapshotDir(l.opts)
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name)
	if err := writeLocal(dir, path, nuid, b); err != nil {
		l.opts.Logger.Warn("local copy of the snapshot not written: the next start reads the store", "err", err)
		_ = os.Remove(path)
	}
}

// writeLocal writes the copy beside path and renames it there: a reader
// sees the old copy or the new one. It is not synced: a copy torn by a
// crash fails the snapshot's checksum, and the store is read instead.
func writeLocal(dir, path, nuid string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a failure; a no-op once renamed
	head := append(append([]byte(nil), localMagic...), binary.AppendUvarint(nil, uint64(len(nuid)))...)
	head = append(head, nuid...)
	_, err = f.Write(head)
	if err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
