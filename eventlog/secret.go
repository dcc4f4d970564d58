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
	var kv jetstream.KeyValue
	err := retrySetup(ctx, func(ctx context.Context) (err error) {
		kv, err = l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: configBucket, Storage: jetstream.FileStorage, Replicas: l.opts.Replicas, History: 1,
		})
		return err
	})
	if err != nil {
		return nil, unavailable("config bucket", err)
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	created := false
	err = retrySetup(ctx, func(ctx context.Context) error {
		_, err := kv.Create(ctx, name, fresh)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return nil
		}
		if err == nil {
			created = true
		}
		return err
	})
	if err != nil {
		return nil, unavailable("config create", err)
	}
	if created {
		return fresh, nil
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
