package projections

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// filledExpiry folds keys at various distances from expiry, some noticed,
// one revoked, one extended, and a few notices in progress.
func filledExpiry(t *testing.T) (*Expiry, *Notices) {
	t.Helper()
	var l expLog
	x, ns := NewExpiry(expWindows), NewNotices()
	var evs []domain.Event
	for i := 0; i < 50; i++ {
		exp := expT0.Add(time.Duration(i) * expDay)
		id := fmt.Sprint("k", i)
		evs = append(evs, l.created(id, exp))
		if i%4 == 0 && i < 30 {
			evs = append(evs, l.noticed(id, 30*expDay, exp))
		}
	}
	later := expT0.Add(200 * expDay)
	evs = append(evs, l.ev("org1", domain.AggKey, "k7", domain.KeyInvalidated{}),
		l.ev("org1", domain.AggKey, "k8", domain.KeyUpdated{Expires: &later}))
	for _, ev := range evs {
		if err := x.Apply(ev); err != nil {
			t.Fatal(err)
		}
		if err := ns.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns.Apply(l.ev("org1", domain.AggNotice, evs[1].AggID, domain.NoticeDelivered{Recipient: "B@example.com"})); err != nil {
		t.Fatal(err)
	}
	return x, ns
}

func TestExpirySnapshotRoundTrips(t *testing.T) {
	x, ns := filledExpiry(t)
	snap, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	y := NewExpiry(expWindows)
	if err := y.Restore(snap); err != nil {
		t.Fatal(err)
	}
	again, _ := y.Snapshot()
	if !bytes.Equal(snap, again) || y.Len() != x.Len() {
		t.Fatal("a restored schedule must snapshot the same")
	}
	for _, at := range []time.Time{expT0, expT0.Add(10 * expDay), expT0.Add(45 * expDay), expT0.Add(300 * expDay)} {
		if got, want := dueIDs(y, at), dueIDs(x, at); got != want {
			t.Fatalf("at %v: restored due %q, folded %q", at, got, want)
		}
	}
	// Due times follow the windows of the restoring process.
	z := NewExpiry([]domain.NoticeWindow{domain.NoticeWindow(expDay)})
	if err := z.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(z, expT0.Add(expDay+time.Hour)); got != "k0/30d k1 k2" {
		t.Fatalf("with a 1d window: %q", got)
	}

	nsnap, _ := ns.Snapshot()
	ns2 := NewNotices()
	if err := ns2.Restore(nsnap); err != nil {
		t.Fatal(err)
	}
	again, _ = ns2.Snapshot()
	if !bytes.Equal(nsnap, again) || ns2.Len() != ns.Len() || ns.Len() == 0 {
		t.Fatalf("notices: %d restored of %d", ns2.Len(), ns.Len())
	}
	for subj, s := range ns.m {
		r := ns2.m[subj]
		if r == nil || strings.Join(r.Pending(), ",") != strings.Join(s.Pending(), ",") || r.Seq != s.Seq || !r.Notice.Expires.Equal(s.Notice.Expires) {
			t.Fatalf("%s restored as %+v, was %+v", subj, r, s)
		}
	}
}

func TestExpiryRestoreRefusesACorruptSnapshot(t *testing.T) {
	x, ns := filledExpiry(t)
	for _, p := range []Snapshotter{x, ns} {
		snap, _ := p.Snapshot()
		for _, bad := range [][]byte{snap[:len(snap)/2], append(append([]byte{}, snap...), 7), {0xff, 0xff, 0xff}} {
			if err := p.Restore(bad); err == nil {
				t.Fatalf("%s restored a corrupt snapshot", p.Name())
			}
		}
	}
}

// The schedule and the auth index keep their released encodings (expiry@1,
// auth@1) with their compact entries: a snapshot main's code wrote
// (fixtures: filledExpiry, richTrail) restores, on a table numbered in
// another order, and encodes again to the same bytes, which are those of a
// fold of the same events; the restored schedule answers Due as the fold.
func TestReleasedExpiryAndAuthSnapshotsRestoreAndEncodeAlike(t *testing.T) {
	x, _ := filledExpiry(t)
	auth := NewAuthIndex()
	fold(t, []Snapshotter{auth}, richTrail(t))
	for _, c := range []struct {
		fixture string
		folded  Snapshotter
		fresh   func(*KeyTable) Snapshotter
	}{
		{"testdata/expiry@1.bin", x, func(t *KeyTable) Snapshotter { return NewExpiryIn(expWindows, t) }},
		{"testdata/auth@1.bin", auth, func(t *KeyTable) Snapshotter { return NewAuthIndexIn(t) }},
	} {
		old, err := os.ReadFile(c.fixture)
		if err != nil {
			t.Fatal(err)
		}
		table := NewKeyTable()
		for _, id := range []domain.KeyID{"zz", "k9", "k7", "k3"} {
			table.slotFor(id)
		}
		restored := c.fresh(table)
		if err := restored.Restore(old); err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		again, _ := restored.Snapshot()
		folded, _ := c.folded.Snapshot()
		if !bytes.Equal(again, old) || !bytes.Equal(folded, old) {
			t.Fatalf("%s: restored encodes %d bytes, a fold %d, the release %d", c.fixture, len(again), len(folded), len(old))
		}
		if e, ok := restored.(*Expiry); ok {
			for _, at := range []time.Time{expT0, expT0.Add(10 * expDay), expT0.Add(45 * expDay), expT0.Add(300 * expDay)} {
				if got, want := dueIDs(e, at), dueIDs(x, at); got != want {
					t.Fatalf("due at %v: %s, want %s", at, got, want)
				}
			}
		}
	}
}
