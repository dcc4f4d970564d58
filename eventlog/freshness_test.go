package eventlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestFreshnessCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		learn    uint64 // learn this sequence at its time (0: advance instead)
		confirms bool
		advance  uint64
		ms       int
	}
	cases := []struct {
		name     string
		steps    []step
		now      int // ms
		maxStale time.Duration
		refused  string // part of the reason, "" for served
	}{
		{"a confirmed, applied index is served", []step{{learn: 10, confirms: true, ms: 0}, {advance: 10, ms: 1}}, 100, time.Second, ""},
		{"a confirmation counts only once its sequence is applied", []step{{advance: 9, ms: 0}, {learn: 10, confirms: true, ms: 0}}, 100, time.Second, "never"},
		{"never confirmed is refused", []step{{advance: 10, ms: 0}}, 10, time.Second, "never"},
		{"a confirmation older than max staleness is refused", []step{{learn: 10, confirms: true, ms: 0}, {advance: 10, ms: 1}}, 1500, time.Second, "ago"},
		{"an announced event applied in time is served", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 11, ms: 50}, {advance: 11, ms: 60}}, 400, time.Second, ""},
		{"an announced event not applied past the grace is refused", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 11, ms: 50}}, 250, time.Second, "1 event(s)"},
		{"an announced event within the grace is served", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 11, ms: 50}}, 150, time.Second, ""},
		{"max staleness 0 serves whatever", []step{{advance: 10}, {learn: 11, ms: 50}}, 5000, 0, ""},
		{"a later mark does not hide an earlier one", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 11, ms: 10}, {learn: 12, ms: 200}, {advance: 11, ms: 201}}, 300, time.Second, ""},
		{"an announcement the leader contradicts for over 3s is forgotten", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 1 << 60, ms: 10}, {learn: 10, confirms: true, ms: 3100}}, 3150, time.Second, ""},
		{"a late announcement of an applied sequence contradicts nothing", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 1 << 60, ms: 10}, {learn: 5, ms: 3100}}, 3150, 10 * time.Second, "not applied"},
		{"an announcement the leader contradicts within 3s still refuses", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 1 << 60, ms: 10}, {learn: 10, confirms: true, ms: 2900}}, 2950, time.Second, "not applied"},
		{"the oldest unapplied mark counts", []step{{learn: 10, confirms: true}, {advance: 10}, {learn: 11, ms: 10}, {learn: 12, ms: 200}}, 300, time.Second, "2 event(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f freshness
			for _, s := range c.steps {
				if s.learn > 0 {
					f.learn(s.learn, at(s.ms), s.confirms)
				} else {
					f.advance(s.advance)
				}
			}
			err := f.snapshot().Check(at(c.now), c.maxStale)
			switch {
			case c.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.refused != "" && err == nil:
				t.Fatalf("served, want refused (%s)", c.refused)
			case c.refused != "" && (!strings.Contains(err.Error(), c.refused) || domain.KindOf(err) != domain.KindUnavailable):
				t.Fatalf("refused with %v, want unavailable saying %q", err, c.refused)
			}
		})
	}
}

func TestFreshnessMarksStayBounded(t *testing.T) {
	var f freshness
	t0 := time.Now()
	for i := range uint64(10 * maxMarks) {
		f.learn(i+1, t0.Add(time.Duration(i)), i%2 == 0)
	}
	if len(f.marks) > maxMarks {
		t.Fatalf("%d marks kept, want at most %d", len(f.marks), maxMarks)
	}
	if got := f.snapshot().BehindSince; !got.Equal(t0) {
		t.Fatalf("behind since %v, want the first mark's %v", got, t0)
	}
	f.advance(10 * maxMarks)
	if s := f.snapshot(); !s.BehindSince.IsZero() || s.ConfirmedAt.IsZero() {
		t.Fatalf("after applying everything: %+v", s)
	}
}

func TestReadDirectReadsABatchFromAnySequence(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := l.Append(ctx, Append{Event: keyEvent(string(rune('a'+i)), string(rune('a'+i)), domain.KeyInvalidated{}), Expect: 0}); err != nil {
			t.Fatal(err)
		}
	}
	evs, more, err := l.readDirect(ctx, 2, 2)
	if err != nil || len(evs) != 2 || evs[0].Seq != 2 || evs[1].Seq != 3 || evs[0].ID != "b" || !more {
		t.Fatalf("from 2, 2 of them: %+v more %v err %v", evs, more, err)
	}
	evs, more, err = l.readDirect(ctx, 4, 10)
	if err != nil || len(evs) != 2 || evs[1].Seq != 5 || more {
		t.Fatalf("from 4, the rest: %+v more %v err %v", evs, more, err)
	}
	evs, more, err = l.readDirect(ctx, 6, 10)
	if err != nil || len(evs) != 0 || more {
		t.Fatalf("past the end: %+v more %v err %v", evs, more, err)
	}
}

// BenchmarkFreshnessCheck is what every authentication pays for
// --max-staleness: a snapshot read without a lock and the check.
func BenchmarkFreshnessCheck(b *testing.B) {
	var f freshness
	f.learn(10, time.Now(), true)
	f.advance(10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f.snapshot().Check(time.Now(), time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}
