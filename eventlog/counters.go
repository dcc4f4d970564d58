package eventlog

import (
	"context"
	"errors"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// throttleBucket holds the password throttle's counts (api/throttle.go),
// shared by every replica so that adding replicas does not add budgets.
//
// Memory storage, replicated like the stream: the counts are meant to
// live an hour, and they are written on failed logins, which anybody can
// cause; in memory those writes cost no fsync beside the log's own, and a
// replica that restarts catches up from its peers. Only a restart of every
// server at once forgets the counts (one fresh budget per such restart).
// MaxAge drops a key an hour after its last write, which is the throttle's
// "an hour without failures forgets". MaxBytes bounds the memory an
// attacker can make it use; a full bucket refuses writes (a KV discards
// new), and the throttle then refuses password checks rather than let
// guesses through uncounted.
const (
	throttleBucket   = "KEYPLANE_THROTTLE"
	throttleMaxAge   = time.Hour
	throttleMaxBytes = 256 << 20
	// counterTimeout bounds one read or write: a password check waits no
	// longer than that for a dead leader.
	counterTimeout = 2 * time.Second
)

// Counters is a small key-value store for short-lived records that every
// replica must see alike, with compare-and-swap writes. Keys are tokens of
// letters, digits and "-_=." (callers hash anything else); values are
// small. Every error but a conflict is a domain.KindUnavailable.
type Counters struct {
	nc *nats.Conn
	kv jetstream.KeyValue
}

// Counters opens (creating if needed) the throttle's bucket.
func (l *Log) Counters(ctx context.Context) (*Counters, error) {
	var kv jetstream.KeyValue
	err := retrySetup(ctx, func(ctx context.Context) (err error) {
		kv, err = l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: throttleBucket, Storage: jetstream.MemoryStorage, Replicas: l.opts.Replicas,
			History: 1, TTL: throttleMaxAge, MaxBytes: throttleMaxBytes,
		})
		return err
	})
	if err != nil {
		return nil, unavailable("throttle bucket", err)
	}
	return &Counters{nc: l.nc, kv: kv}, nil
}

// Get returns key's value and revision; an absent key is (nil, 0, nil).
func (c *Counters) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	ctx, cancel, err := c.begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	e, err := c.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, unavailable("counter get", err)
	}
	return e.Value(), e.Revision(), nil
}

// Put writes value under key if key's revision is still rev (0: if key is
// absent) and returns the new revision. A key changed meanwhile is
// domain.ErrConflict: read it again and retry.
func (c *Counters) Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	ctx, cancel, err := c.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var n uint64
	if rev == 0 {
		n, err = c.kv.Create(ctx, key, value)
	} else {
		n, err = c.kv.Update(ctx, key, value, rev)
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err):
		return 0, domain.ErrConflict
	}
	return 0, unavailable("counter put", err)
}

// Delete removes key, whatever its revision.
func (c *Counters) Delete(ctx context.Context, key string) error {
	ctx, cancel, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := c.kv.Delete(ctx, key); err != nil {
		return unavailable("counter delete", err)
	}
	return nil
}

// begin fails at once while the client is disconnected (as Append does)
// and bounds the call.
func (c *Counters) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if !c.nc.IsConnected() {
		return nil, nil, unavailable("counter", nats.ErrConnectionReconnecting)
	}
	ctx, cancel := context.WithTimeout(ctx, counterTimeout)
	return ctx, cancel, nil
}
