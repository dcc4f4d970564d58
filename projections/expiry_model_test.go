package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// expiryModel is the schedule's rules, written plainly: a map of keys and
// their notices, and a filter over all of them for Due.
type expiryModel struct {
	windows []domain.NoticeWindow
	keys    map[domain.KeyID]*modelKey
}

type modelKey struct {
	tenant  domain.TenantID
	expires time.Time
	seq     uint64
	notices []noticeMark
}

func (m *expiryModel) noticed(k *modelKey) domain.NoticeWindow {
	var least domain.NoticeWindow
	for _, n := range k.notices {
		if n.expires == k.expires.Unix() && (least == 0 || n.window < least) {
			least = n.window
		}
	}
	return least
}

func (m *expiryModel) due(now time.Time) []DueKey {
	var out []DueKey
	for id, k := range m.keys {
		if !domain.NextNoticeAt(k.expires, m.windows, m.noticed(k)).After(now) {
			out = append(out, DueKey{Tenant: k.tenant, ID: id, Expires: k.expires, Noticed: m.noticed(k), KeySeq: k.seq})
		}
	}
	slices.SortFunc(out, func(a, b DueKey) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return compareStrings(string(a.ID), string(b.ID))
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Over a few thousand random creations, changes of expiration, rotations,
// notices and revocations of keys of several tenants (entries freed and
// reused, the queue reordered), the schedule and its restored copy answer
// Due exactly as the plain model of its rules does.
func TestExpiryScheduleAnswersAsThePlainModelOverRandomChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 1))
	var l expLog
	table := NewKeyTable()
	table.slotFor("another projection's key")
	x := NewExpiryIn(expWindows, table)
	m := &expiryModel{windows: x.Windows(), keys: map[domain.KeyID]*modelKey{}}
	tenants := []domain.TenantID{"org1", "org2", "org3"}
	when := func() time.Time {
		return expT0.Add(time.Duration(rng.IntN(90*24*60)) * time.Minute).Add(time.Duration(rng.IntN(1000)) * time.Nanosecond)
	}
	apply := func(ev domain.Event) {
		t.Helper()
		if err := x.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	for range 4000 {
		id := domain.KeyID(fmt.Sprint("k", rng.IntN(300)))
		ten := tenants[int(id[len(id)-1])%len(tenants)]
		k := m.keys[id]
		var ev domain.Event
		switch op := rng.IntN(6); {
		case op == 0 || k == nil && op < 4:
			exp := when()
			ev = l.ev(ten, domain.AggKey, string(id), domain.KeyCreated{KeyID: id, Name: "n", Scope: domain.ScopeOrg, Expires: &exp,
				Hash: domain.HashSecret([]byte(id)).String()})
			m.keys[id] = &modelKey{tenant: ten, expires: exp, seq: ev.Seq}
		case op == 1 && k != nil:
			exp := when()
			ev = l.ev(ten, domain.AggKey, string(id), domain.KeyUpdated{Expires: &exp})
			k.expires, k.seq = exp, ev.Seq
		case op == 2 && k != nil:
			exp := when()
			ev = l.ev(ten, domain.AggKey, string(id), domain.KeyRotated{Expires: exp})
			k.expires, k.seq = exp, ev.Seq
			k.notices = append(k.notices, noticeMark{window: m.windows[len(m.windows)-1], expires: exp.Unix()})
		case op == 3 && k != nil:
			w := m.windows[rng.IntN(len(m.windows))]
			ev = l.noticed(string(id), time.Duration(w), k.expires)
			ev.Tenant = ten
			k.notices = append(k.notices, noticeMark{window: w, expires: k.expires.Unix()})
		case op == 4:
			ev = l.ev(ten, domain.AggKey, string(id), domain.KeyInvalidated{})
			delete(m.keys, id)
		default:
			ev = l.ev(ten, domain.AggKey, string(id), domain.KeyUpdated{NeverExpires: true})
			delete(m.keys, id)
		}
		apply(ev)
	}
	restored := NewExpiryIn(expWindows, NewKeyTable())
	if snap, err := x.Snapshot(); err != nil || restored.Restore(snap) != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for _, s := range []*Expiry{x, restored} {
		if s.Len() != len(m.keys) {
			t.Fatalf("%d keys scheduled, want %d", s.Len(), len(m.keys))
		}
		for day := 0; day <= 100; day += 5 {
			at := expT0.Add(time.Duration(day) * expDay)
			if got, want := s.Due(at, nil), m.due(at); !reflect.DeepEqual(got, want) {
				t.Fatalf("at day %d: %d due, want %d\n%+v\n%+v", day, len(got), len(want), got, want)
			}
		}
	}
}
