package projections

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventcodec"
)

// BenchmarkKeysMemory reports the live heap per key of the key list (Keys,
// its key table included) after folding n KeyCreated events like
// BenchmarkScale's (api/es): one project, a name and two metadata fields
// each; half made through Elasticsearch's API (role descriptors, the
// creator's as limited_by, no expiration), half through the console (no
// descriptors, an expiration). The events are decoded as the runner
// decodes them (eventcodec.Decoder, which shares what recurs).
func BenchmarkKeysMemory(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				folded, restored := keysHeapPerKey(b, n)
				b.ReportMetric(folded, "heap-B/key")
				b.ReportMetric(restored, "restored-B/key")
			}
		})
	}
}

// keysHeapPerKey is the live heap per key of a key list that folded n
// keys, then of one restored from its snapshot.
func keysHeapPerKey(b *testing.B, n int) (folded, restored float64) {
	b.StopTimer()
	defer b.StartTimer()
	before := keysLiveHeap()
	evs := scaleKeyEvents(b, n)
	ks := NewKeys()
	for start := 0; start < n; start += 256 {
		if _, err := ks.ApplyAll(evs[start:min(start+256, n)]); err != nil {
			b.Fatal(err)
		}
	}
	evs = nil // what the keys keep of the events stays, the rest goes
	after := keysLiveHeap()
	if ks.Len() != n {
		b.Fatalf("%d keys folded of %d", ks.Len(), n)
	}
	snap, err := ks.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	folded = float64(int64(after)-int64(before)) / float64(n)
	ks = nil // the snapshot stays, the key list goes
	before = keysLiveHeap()
	fresh := NewKeys()
	if err := fresh.Restore(snap); err != nil {
		b.Fatal(err)
	}
	after = keysLiveHeap()
	if fresh.Len() != n {
		b.Fatalf("%d keys restored of %d", fresh.Len(), n)
	}
	runtime.KeepAlive(snap)
	runtime.KeepAlive(fresh)
	return folded, float64(int64(after)-int64(before)) / float64(n)
}

// scaleKeyEvents are n KeyCreated events as BenchmarkScale makes them,
// decoded by one eventcodec.Decoder.
func scaleKeyEvents(b testing.TB, n int) []domain.Event {
	now := time.Now().UTC()
	var rds, limits domain.RoleDescriptors
	if err := json.Unmarshal([]byte(`{"reader":{"cluster":[],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`), &rds); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"admin":{"cluster":["all"],"indices":[{"names":["*"],"privileges":["all"],"allow_restricted_indices":false}],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`), &limits); err != nil {
		b.Fatal(err)
	}
	var d eventcodec.Decoder
	evs := make([]domain.Event, n)
	for i := range n {
		id := commands.Random{}.KeyID()
		c := domain.KeyCreated{KeyID: id, Name: fmt.Sprintf("key-%d", i), Scope: domain.ScopeProject, Project: "p1",
			Type: domain.KeyPersonal, Hash: domain.HashSecret([]byte(id)).String(),
			Metadata: map[string]any{"team": fmt.Sprintf("team-%d", i%10), "n": i}}
		actor := domain.Actor{Kind: domain.ActorUser, ID: "owner", Name: "Owner"}
		if i%2 == 0 { // Elasticsearch's API
			c.Owner = domain.Owner{User: "owner", Realm: domain.RealmMembers}
			c.RoleDescriptors, c.LimitedBy = rds, []domain.RoleDescriptors{limits}
		} else { // the console's
			c.Owner = domain.Owner{User: "owner", Realm: domain.RealmMembers}
			exp := now.Add(time.Duration(1+i%365) * 24 * time.Hour)
			c.Expires, c.RoleDescriptors = &exp, domain.RoleDescriptors{}
		}
		ev := domain.NewEvent(fmt.Sprint(i), "org1", domain.AggKey, string(id), domain.Meta{Actor: actor, Time: now}, c)
		ev.Seq = uint64(i + 1)
		evs[i] = d.Payload(ev)
	}
	return evs
}

// keysLiveHeap is the live heap after a full collection.
func keysLiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
