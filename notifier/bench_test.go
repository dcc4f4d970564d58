package notifier

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

var benchNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// benchNotifiers caches the filled projections per size: filling a
// million keys takes seconds, and the benchmark function runs several
// times.
var benchNotifiers sync.Map

// filledNotifier is a notifier over projections holding total keys, due
// of which are in a notice window at benchNow; the others expire 60 to 90
// days later. The projections are filled by applying events, as the
// runner does; no log is involved (plan does no I/O).
func filledNotifier(tb testing.TB, total, due int) *Notifier {
	tb.Helper()
	key := fmt.Sprint(total, "/", due)
	if n, ok := benchNotifiers.Load(key); ok {
		return n.(*Notifier)
	}
	const org domain.TenantID = "org1"
	dir, keys := tenants.NewDirectory(), projections.NewKeys()
	expiry := projections.NewExpiry(domain.DefaultNoticeWindows)
	seq := uint64(0)
	apply := func(ev domain.Event, to ...projections.Applier) {
		seq++
		ev.Seq = seq
		for _, a := range to {
			if err := a.Apply(ev); err != nil {
				tb.Fatal(err)
			}
		}
	}
	m := domain.Meta{Time: benchNow}
	apply(domain.NewEvent("u", domain.SystemTenant, domain.AggUser, domain.UserAggID("carol"), m,
		domain.UserCreated{Name: "carol", Email: "carol@example.com"}), dir)
	apply(domain.NewEvent("o", org, domain.AggOrg, string(org), m, domain.OrgCreated{OrgID: org, Name: "acme", Owner: "carol"}), dir)
	apply(domain.NewEvent("c", org, domain.AggOrg, string(org), m, domain.ContactsSet{Emails: []string{"ops@example.com"}}), dir)
	hash := domain.HashSecret([]byte("not a real secret")).String()
	for i := 0; i < total; i++ {
		exp := benchNow.Add(60*24*time.Hour + time.Duration(i)*time.Second)
		if i < due {
			exp = benchNow.Add(7*24*time.Hour - time.Duration(i)*time.Second)
		}
		id := domain.KeyID(fmt.Sprintf("key%017d", i))
		apply(domain.NewEvent(string(id), org, domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id, Name: "k", Scope: domain.ScopeOrg,
			Type: domain.KeyPersonal, Owner: domain.Owner{User: "carol"}, Hash: hash, Expires: &exp}), keys, expiry)
	}
	n := &Notifier{cfg: Config{}.WithDefaults(), Deps: Deps{Expiry: expiry, Keys: keys, Dir: dir}}
	benchNotifiers.Store(key, n)
	return n
}

func TestPlanRecordsWhatIsDue(t *testing.T) {
	n := filledNotifier(t, 2000, 100)
	apps := n.plan(benchNow, nil)
	if len(apps) != 100 {
		t.Fatalf("%d appends planned, want 100", len(apps))
	}
	p, err := apps[0].Event.Decode()
	if err != nil {
		t.Fatal(err)
	}
	rec := p.(domain.ExpiryNoticeRecorded)
	if rec.Window.String() != "7d" || fmt.Sprint(rec.Recipients) != "[carol@example.com ops@example.com]" || apps[0].Expect != 0 {
		t.Fatalf("planned %+v expecting %d", rec, apps[0].Expect)
	}
}

// BenchmarkScan measures what a scan does apart from appending: find the
// due keys in the expiry schedule and build their notices. With the same
// 1,000 keys due, a schedule of 1,000,000 keys should cost about what one
// of 10,000 does: the scan's cost follows the keys due.
func BenchmarkScan(b *testing.B) {
	for _, total := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d/due=1000", total), func(b *testing.B) {
			n := filledNotifier(b, total, 1000)
			// Collect the filling's garbage now, so that marking a heap of
			// a million keys is not billed to the scans that follow.
			runtime.GC()
			var buf []projections.DueKey
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if apps := n.plan(benchNow, buf); len(apps) != 1000 {
					b.Fatalf("%d due", len(apps))
				}
			}
		})
	}
}
