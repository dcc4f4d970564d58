package eventlog

import (
	"context"
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go/jetstream"
)

// Two writers that read the same revision: the second one's write is a
// conflict, never a lost update.
func TestCounterWritesCompareAndSwap(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	c, err := l.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, rev, err := c.Get(ctx, "n.abc"); err != nil || v != nil || rev != 0 {
		t.Fatalf("absent key: %q %d %v, want nil 0 nil", v, rev, err)
	}
	rev1, err := c.Put(ctx, "n.abc", []byte("1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		value string
		rev   uint64
		want  domain.Kind // KindInternal: accepted
	}{
		{"create over an existing key", "x", 0, domain.KindConflict},
		{"update at the revision read", "2", rev1, domain.KindInternal},
		{"update at the same, now stale, revision", "2b", rev1, domain.KindConflict},
	}
	for _, s := range steps {
		_, err := c.Put(ctx, "n.abc", []byte(s.value), s.rev)
		if s.want == domain.KindInternal && err != nil || s.want != domain.KindInternal && !domain.IsKind(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	if v, _, _ := c.Get(ctx, "n.abc"); string(v) != "2" {
		t.Fatalf("value %q, want the first update's 2", v)
	}
	if err := c.Delete(ctx, "n.abc"); err != nil {
		t.Fatal(err)
	}
	if v, rev, err := c.Get(ctx, "n.abc"); err != nil || v != nil || rev != 0 {
		t.Fatalf("deleted key: %q %d %v, want absent", v, rev, err)
	}
	if _, err := c.Put(ctx, "n.abc", []byte("1"), 0); err != nil {
		t.Fatalf("create after a delete: %v", err)
	}
}

// The bucket forgets a key an hour after its last write, is kept in
// memory and bounded: the throttle's budget, not a record.
func TestCounterBucketLayout(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	if _, err := l.Counters(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := l.js.KeyValue(ctx, throttleBucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	if info.Config.MaxAge != throttleMaxAge || info.Config.Storage != jetstream.MemoryStorage ||
		info.Config.MaxBytes != throttleMaxBytes || info.Config.MaxMsgsPerSubject != 1 {
		t.Fatalf("bucket config %+v", info.Config)
	}
}

// While the client is disconnected, every call is unavailable at once.
func TestCountersUnavailableWhileDisconnected(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	c, err := l.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.nc.Close()
	if _, _, err := c.Get(ctx, "a.x"); !domain.IsKind(err, domain.KindUnavailable) {
		t.Fatalf("get: %v, want unavailable", err)
	}
	if _, err := c.Put(ctx, "a.x", []byte("1"), 0); !domain.IsKind(err, domain.KindUnavailable) {
		t.Fatalf("put: %v, want unavailable", err)
	}
}
