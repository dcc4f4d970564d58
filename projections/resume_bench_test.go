package projections

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// BenchmarkResume restores, from one checkpoint of n project keys
// (KEYPLANE_BENCH_KEYS, default 200,000), every projection that keeps
// keys, wired on one key table as the app wires them: the restores run at
// once and share the table (Runner.Resume), which BenchmarkRestore, each
// projection on a table of its own, does not show. It reports the wall
// time and the process's CPU time per key.
func BenchmarkResume(b *testing.B) {
	n := benchKeys(200_000)
	wire := func() *Runner {
		t := NewKeyTable()
		return NewRunner(NewKeysIn(t), NewAuthIndexIn(t), NewAuditIn(t), NewExpiryIn(domain.DefaultNoticeWindows, t), NewKeyIndexIn(t), t.Quarantine())
	}
	r := wire()
	tenant, exp := commands.Random{}.TenantID(), time.Now().Add(90*24*time.Hour).UTC()
	var run []domain.Event
	for i := range n {
		id := commands.Random{}.KeyID()
		ev := domain.NewEvent("e"+strconv.Itoa(i), tenant, domain.AggKey, string(id),
			domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner"}, Time: time.Now()},
			domain.KeyCreated{KeyID: id, Name: "deploy-" + strconv.Itoa(i), Scope: domain.ScopeProject, Project: "p1", Type: domain.KeyPersonal,
				Owner: domain.Owner{User: "owner", Realm: "native"}, Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp,
				RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{"team": "team-" + strconv.Itoa(i%10), "customer": string(id)}})
		ev.Seq = uint64(i + 1)
		if run = append(run, ev); len(run) == 256 || i == n-1 {
			if err := r.ApplyAll(run); err != nil {
				b.Fatal(err)
			}
			run = nil
		}
	}
	s, _, err := r.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	var wall, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		fresh := wire()
		runtime.GC()
		gc := debug.SetGCPercent(-1) // as app restores
		t0, c0 := time.Now(), processCPU()
		b.StartTimer()
		_, err := fresh.Resume(s)
		b.StopTimer()
		wall, cpu = wall+time.Since(t0), cpu+processCPU()-c0
		debug.SetGCPercent(gc)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N)/float64(n), "ns/key")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/key")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
