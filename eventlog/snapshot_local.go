package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// An embedded server also keeps a copy of the snapshot in its data dir,
// named by the stored object's id (its NUID, new on every put), so that a
// start reads the snapshot while nats-server is still starting
// (recovering a stream of a million subjects takes it most of a second)
// and without the trip through the object store: an ordered consumer, an
// in-process connection and a pipe, each copying 200+ MB, plus the store's
// own SHA-256 of it. The copy is used only once the server is up and says
// that object is still the one stored (Current): a snapshot put by a
// replica connected to this server, or a store emptied behind its back,
// makes the copy stale, and the store is read as before. The copy is a
// cache of a cache: losing or damaging it costs a read of the store.
//
// Only snapshots the caller checked are copied (SaveSnapshot: it encoded
// them; KeepLocal: it checked one read from the store), and a copy carries
// a CRC-32C of them: a copy that reads back whole is such a snapshot, and
// need not be checked again (a SHA-256 of 200+ MB is a tenth of a start).

// localMagic starts a local copy: the magic, the object's NUID (a length
// and its bytes), the CRC-32C (Castagnoli, big-endian) of the snapshot's
// bytes, then those bytes.
var localMagic = []byte("KPLOCAL\x02")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// localSnapshotDir is where an embedded server's copies are, "" for a log
// on an external server (whose data dir holds no log).
func localSnapshotDir(o Options) string {
	if o.URL != "" || o.DataDir == "" {
		return ""
	}
	return filepath.Join(o.DataDir, "snapshots")
}

// Snapshot is a snapshot's bytes, read from the store (ReadSnapshot) or
// from the local copy of one (ReadLocalSnapshot).
type Snapshot struct {
	Bytes   []byte
	nuid    string
	name    string
	release func()
}

// Release says the bytes were restored from (and copied where kept): a
// mapped copy's pages are dropped from the process. They stay readable.
func (s Snapshot) Release() {
	if s.release != nil {
		s.release()
	}
}

// ReadLocalSnapshot reads the local copy of the snapshot name, if the log
// o opens is embedded and has one, and checks it whole. It needs no open
// log: a start calls it while Open starts the server. A zero Snapshot
// means there is no copy; an error, one that cannot be read or is damaged.
func ReadLocalSnapshot(o Options, name string) (Snapshot, error) {
	dir := localSnapshotDir(o)
	if dir == "" {
		return Snapshot{}, nil
	}
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return Snapshot{}, nil
	}
	if err != nil {
		return Snapshot{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Snapshot{}, err
	}
	nuid, sum, head, err := readLocalHeader(bufio.NewReaderSize(f, 128))
	if err != nil {
		return Snapshot{}, fmt.Errorf("local snapshot %s: %w", name, err)
	}
	s := Snapshot{nuid: nuid, name: name}
	if m, release, err := mapFile(f, fi.Size()); err == nil {
		s.Bytes, s.release = m[head:], release
	} else if s.Bytes, err = readFrom(f, head, fi.Size()); err != nil {
		return Snapshot{}, err
	}
	if crc32.Checksum(s.Bytes, castagnoli) != sum {
		s.Release()
		return Snapshot{}, fmt.Errorf("local snapshot %s: checksum mismatch (damaged)", name)
	}
	return s, nil
}

// readFrom reads f from offset on, where mapping it is not possible.
func readFrom(f *os.File, offset, size int64) ([]byte, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	// Into a buffer of the copy's size, as ReadSnapshot reads the store's.
	buf := bytes.NewBuffer(make([]byte, 0, max(size-offset, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readLocalHeader reads a local copy's header: the object it copies, the
// checksum of the bytes after it, and its length.
func readLocalHeader(r *bufio.Reader) (nuid string, sum uint32, head int64, err error) {
	magic := make([]byte, len(localMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != string(localMagic) {
		return "", 0, 0, errors.New("not a snapshot copy")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 64 {
		return "", 0, 0, errors.New("malformed header")
	}
	id := make([]byte, n+4)
	if _, err := io.ReadFull(r, id); err != nil {
		return "", 0, 0, errors.New("malformed header")
	}
	head = int64(len(localMagic) + len(binary.AppendUvarint(nil, n)) + len(id))
	return string(id[:n]), binary.BigEndian.Uint32(id[n:]), head, nil
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
	nuid, _, _, _ := readLocalHeader(bufio.NewReaderSize(f, 128))
	return nuid
}

// DropLocalSnapshot removes the local copy of name, one found unusable.
func DropLocalSnapshot(o Options, name string) {
	if dir := localSnapshotDir(o); dir != "" {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// Current says whether s is a copy of the snapshot stored now.
func (l *Log) Current(ctx context.Context, s Snapshot) (bool, error) {
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

// KeepLocal copies s, a snapshot read from the store (ReadSnapshot) that
// the caller checked, unless the local copy is already of it: a snapshot
// stored by another replica, or by a keyplane that kept no copy, is then
// read from the copy on the next start.
func (l *Log) KeepLocal(s Snapshot) {
	if s.nuid != "" && localNUID(l.opts, s.name) != s.nuid {
		l.keepLocal(s.name, s.nuid, s.Bytes)
	}
}

// keepLocal writes the local copy of the snapshot name stored as the
// object nuid, replacing the last one. A copy it cannot write is removed
// (the last one is stale now) and the failure logged: the store is then
// read on start.
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
// crash fails its checksum, and the store is read instead.
func writeLocal(dir, path, nuid string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	removeTornWrites(dir)
	f, err := os.CreateTemp(dir, localTemp)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a failure; a no-op once renamed
	head := append(slices.Clone(localMagic), binary.AppendUvarint(nil, uint64(len(nuid)))...)
	head = binary.BigEndian.AppendUint32(append(head, nuid...), crc32.Checksum(b, castagnoli))
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

// localTemp names a copy being written (os.CreateTemp's pattern).
const localTemp = ".snapshot-*"

// removeTornWrites removes the copies a crash cut short before their
// rename, each as large as a snapshot, which nothing would read or remove
// again. Copies are written one at a time (SaveSnapshot under the app's
// saver lock, KeepLocal on start before the saver runs): none is under
// way.
func removeTornWrites(dir string) {
	torn, _ := filepath.Glob(filepath.Join(dir, localTemp))
	for _, path := range torn {
		_ = os.Remove(path)
	}
}
