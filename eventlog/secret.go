package eventlog

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// configBucket holds small settings every replica must share.
const configBucket = "KEYPLANE_CONFIG"

// SharedSecret returns the 32-byte secret stored under name, creating it on
// first use. Create-if-absent makes every replica agree on one value.
func (l *Log) SharedSecret(ctx context.Context, name string) ([]byte, error) {
	kv, err := l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: configBucket, Storage: jetstream.FileStorage, Replicas: l.opts.Replicas, History: 1,
	})
	if err != nil {
		return nil, unavailable("config bucket", err)
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	if _, err := kv.Create(ctx, name, fresh); err == nil {
		return fresh, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, unavailable("config create", err)
	}
	for i := 0; ; i++ {
		e, err := kv.Get(ctx, name)
		if err == nil {
			return e.Value(), nil
		}
		if i == 20 || ctx.Err() != nil {
			return nil, unavailable("config get", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
