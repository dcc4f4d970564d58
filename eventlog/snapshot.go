package eventlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// snapshotBucket is the object store that holds projection snapshots. It is
// a cache of the log, never a source of truth: losing it costs a replay.
// An object store because a snapshot of a million keys is a hundred
// megabytes, far over a KV value's limit; it chunks them and checks their
// SHA-256 on the way out.
const snapshotBucket = "KEYPLANE_SNAPSHOTS"

const snapshotChunk = 1000 << 10

// snapshotTimeout bounds a snapshot's transfer. Without a deadline the
// client would give a whole transfer its default 5 s, too little for a
// few hundred megabytes on a busy machine.
const snapshotTimeout = 2 * time.Minute

// snapshots is the snapshot store, created (or its settings updated) on
// first use and then kept: every get and put used to repeat that request,
// which in a cluster goes through the meta leader. A failed get or put
// drops it (snapshotFailed), so that a store deleted meanwhile is made
// again on the next one.
func (l *Log) snapshots(ctx context.Context) (jetstream.ObjectStore, error) {
	l.snapStore.Lock()
	defer l.snapStore.Unlock()
	if l.snapStore.obs != nil {
		return l.snapStore.obs, nil
	}
	obs, err := l.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      snapshotBucket,
		Description: "keyplane projection snapshots (a cache of the KEYPLANE stream)",
		Storage:     jetstream.FileStorage,
		Replicas:    l.opts.Replicas,
	})
	if err != nil {
		return nil, unavailable("snapshot store", err)
	}
	l.snapStore.obs = obs
	return obs, nil
}

// snapshotFailed forgets the store after a failed get or put and returns
// the failure as the log being unavailable.
func (l *Log) snapshotFailed(op string, err error) error {
	l.snapStore.Lock()
	l.snapStore.obs = nil
	l.snapStore.Unlock()
	return unavailable(op, err)
}

// PutSnapshot stores b under name, replacing what was there. The previous
// object stays readable until the new one is complete.
func (l *Log) PutSnapshot(ctx context.Context, name string, b []byte) error {
	_, err := l.putSnapshot(ctx, name, b)
	return err
}

// SaveSnapshot is PutSnapshot for a snapshot the caller checked (it
// encoded it): an embedded log also keeps a local copy of it, which the
// next start reads (ReadLocalSnapshot).
func (l *Log) SaveSnapshot(ctx context.Context, name string, b []byte) error {
	nuid, err := l.putSnapshot(ctx, name, b)
	if err == nil {
		l.keepLocal(name, nuid, b)
	}
	return err
}

// putSnapshot stores b and returns the id of the object it is stored as.
func (l *Log) putSnapshot(ctx context.Context, name string, b []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	obs, err := l.snapshots(ctx)
	if err != nil {
		return "", err
	}
	// Chunks just under the server's 1 MB message limit: a cold read of a
	// 200 MB snapshot is twice as fast as with the default 128 KB.
	meta := jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: snapshotChunk}}
	info, err := obs.Put(ctx, meta, bytes.NewReader(b))
	if err != nil {
		return "", l.snapshotFailed("snapshot put", err)
	}
	return info.NUID, nil
}

// GetSnapshot returns what is stored under name, nil when nothing is.
func (l *Log) GetSnapshot(ctx context.Context, name string) ([]byte, error) {
	s, err := l.ReadSnapshot(ctx, name, nil)
	return s.Bytes, err
}

// ReadSnapshot is GetSnapshot that also writes the bytes to tee as they
// arrive (nil: nowhere): a checksum computed there runs beside the read,
// which leaves a core mostly idle, instead of after it.
func (l *Log) ReadSnapshot(ctx context.Context, name string, tee io.Writer) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	obs, err := l.snapshots(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	res, err := obs.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Snapshot{}, nil
	}
	if err != nil {
		return Snapshot{}, l.snapshotFailed("snapshot get", err)
	}
	defer res.Close()
	// Read into a buffer of the object's size: GetBytes grows one from
	// nothing, copying a snapshot of a million keys (200+ MB) over and over.
	var size uint64
	var nuid string
	if info, err := res.Info(); err == nil {
		size, nuid = info.Size, info.NUID
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	var from io.Reader = res
	if tee != nil {
		from = io.TeeReader(res, tee)
	}
	if _, err := buf.ReadFrom(from); err != nil {
		return Snapshot{}, l.snapshotFailed("snapshot get", err)
	}
	return Snapshot{Bytes: buf.Bytes(), nuid: nuid, name: name}, nil
}
