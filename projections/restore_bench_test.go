package projections

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// BenchmarkRestore restores each of the projections a key fills from its
// snapshot of n keys (KEYPLANE_BENCH_KEYS, default 200,000) over 50
// tenants: the part of a cold start from a snapshot that keyplane, not the
// log, spends.
func BenchmarkRestore(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	keys, auth, expiry := NewKeys(), NewAuthIndex(), NewExpiry(domain.DefaultNoticeWindows)
	tenants := make([]domain.TenantID, 50)
	for i := range tenants {
		tenants[i] = commands.Random{}.TenantID()
	}
	exp := time.Now().Add(90 * 24 * time.Hour).UTC()
	for i := range n {
		id := commands.Random{}.KeyID()
		ev := domain.NewEvent("e", tenants[i%len(tenants)], domain.AggKey, string(id),
			domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner"}, Time: time.Now()},
			domain.KeyCreated{KeyID: id, Name: "deploy-" + strconv.Itoa(i), Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
				Owner: domain.Owner{User: "owner", Realm: "native"}, Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp,
				RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{"team": "infra"}})
		ev.Seq = uint64(i + 1)
		for _, p := range []Applier{keys, auth, expiry} {
			if err := p.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, p := range []Snapshotter{keys, auth, expiry} {
		snap, err := p.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.Name(), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				gc := debug.SetGCPercent(-1) // as app restores
				err := p.Restore(snap)
				debug.SetGCPercent(gc)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}
