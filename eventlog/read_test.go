package eventlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// openReadLog is a fresh embedded log holding, in order:
// 1 t1/key/a  2 t2/key/b  3 t1/org/t1  4 t1/key/a  5 t2/key/c
func openReadLog(t *testing.T) *Log {
	t.Helper()
	l := openTest(t)
	ctx := t.Context()
	for i, e := range []struct {
		t       domain.TenantID
		agg, id string
	}{{"t1", domain.AggKey, "a"}, {"t2", domain.AggKey, "b"}, {"t1", domain.AggOrg, "t1"}, {"t1", domain.AggKey, "a"}, {"t2", domain.AggKey, "c"}} {
		ev := domain.NewEvent(string(rune('A'+i)), e.t, e.agg, e.id, domain.Meta{Time: time.Now()}, domain.KeyInvalidated{})
		if _, err := l.Append(ctx, Append{Event: ev, AnySeq: true}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestReadRangeDeliversTheSelectedStretchAndEnds(t *testing.T) {
	l := openReadLog(t)
	tests := []struct {
		name string
		r    Range
		want []uint64
	}{
		{"whole log", Range{}, []uint64{1, 2, 3, 4, 5}},
		{"bounded", Range{From: 2, To: 4}, []uint64{2, 3, 4}},
		{"to beyond the end", Range{From: 4, To: 99}, []uint64{4, 5}},
		{"from beyond the end", Range{From: 6}, nil},
		{"one tenant", Range{Subject: TenantSubjects("t1")}, []uint64{1, 3, 4}},
		{"one tenant's keys", Range{Subject: KeySubjects("t1")}, []uint64{1, 4}},
		{"one tenant, bounded before its next event", Range{Subject: KeySubjects("t2"), From: 3, To: 4}, nil},
		{"a tenant with no events", Range{Subject: TenantSubjects("t3")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got []uint64
			err := l.ReadRange(ctx, tt.r, func(ev domain.Event) error {
				got = append(got, ev.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("read %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadRangeStopsWhenTheCallbackSaysSo(t *testing.T) {
	l := openReadLog(t)
	var got []uint64
	err := l.ReadRange(context.Background(), Range{}, func(ev domain.Event) error {
		got = append(got, ev.Seq)
		if ev.Seq == 2 {
			return ErrStop
		}
		return nil
	})
	if err != nil || !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("read %v, err %v", got, err)
	}
}

func TestEventReadsOneSequence(t *testing.T) {
	l := openReadLog(t)
	ev, err := l.Event(context.Background(), 3)
	if err != nil || ev.Seq != 3 || ev.AggType != domain.AggOrg || ev.ID != "C" {
		t.Fatalf("event 3 = %+v, %v", ev, err)
	}
	if _, err := l.Event(context.Background(), 42); !domain.IsKind(err, domain.KindNotFound) {
		t.Fatalf("a sequence past the end: %v, want not found", err)
	}
}

func TestReadRangeKeepsOrderAcrossDecodedBatches(t *testing.T) {
	l := openReadLog(t)
	ctx := context.Background()
	const n = 3*readBatchSize + 17
	apps := make([]Append, 0, 100)
	for i := range n {
		ev := domain.NewEvent("b"+strconv.Itoa(i), "t1", domain.AggKey, "k"+strconv.Itoa(i), domain.Meta{Time: time.Now()}, domain.KeyInvalidated{Reason: strconv.Itoa(i)})
		apps = append(apps, Append{Event: ev, AnySeq: true})
		if len(apps) == 100 || i == n-1 {
			if _, err := l.Append(ctx, apps...); err != nil {
				t.Fatal(err)
			}
			apps = apps[:0]
		}
	}
	var got []string
	err := l.ReadRange(ctx, Range{From: 6}, func(ev domain.Event) error {
		p, err := ev.Decode()
		if err != nil {
			return err
		}
		got = append(got, p.(domain.KeyInvalidated).Reason)
		return nil
	})
	if err != nil || len(got) != n {
		t.Fatalf("read %d of %d: %v", len(got), n, err)
	}
	for i, r := range got {
		if r != strconv.Itoa(i) {
			t.Fatalf("event %d carries %s: out of order", i, r)
		}
	}
	// ReadBatches delivers the same events, in runs of consecutive ones.
	next, runs := uint64(6), 0
	err = l.ReadBatches(ctx, Range{From: 6}, func(evs []domain.Event) error {
		runs++
		for _, ev := range evs {
			if ev.Seq != next {
				return fmt.Errorf("run %d: sequence %d where %d was due", runs, ev.Seq, next)
			}
			next++
		}
		return nil
	})
	if err != nil || next != 6+n || runs < 2 {
		t.Fatalf("read up to %d in %d runs: %v", next, runs, err)
	}
	stopAt, boom := readBatchSize+5, errors.New("boom")
	for _, c := range []struct {
		ret  error
		want error
	}{{ErrStop, nil}, {boom, boom}} {
		count := 0
		err := l.ReadRange(ctx, Range{From: 6}, func(domain.Event) error {
			count++
			if count == stopAt {
				return c.ret
			}
			return nil
		})
		if !errors.Is(err, c.want) || count != stopAt {
			t.Fatalf("callback returning %v: err %v after %d events", c.ret, err, count)
		}
	}
}

// TestAReadLeavesNoConsumerBehind: however a read ends (at its end, told
// to stop, cancelled), the server holds no consumer for it afterwards. The
// log is longer than the batches ReadRange keeps in flight, so that a
// stopped or cancelled read ends while its scan is still running (on a
// shorter one the scan, and its consumer, would be done before fn saw the
// first event). Such a read returns before its scan has dropped the
// consumer, so the count is polled.
func TestAReadLeavesNoConsumerBehind(t *testing.T) {
	l := openReadLog(t)
	for i := range 8 * readBatchSize / 64 {
		var apps []Append
		for j := range 64 {
			apps = append(apps, Append{Event: keyEvent(strconv.Itoa(64*i+j), "many", domain.KeyInvalidated{}), AnySeq: true})
		}
		if _, err := l.Append(t.Context(), apps...); err != nil {
			t.Fatal(err)
		}
	}
	consumers := func() int {
		t.Helper()
		info, err := l.stream.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	before := consumers()
	cancelled, cancel := context.WithCancel(t.Context())
	for _, c := range []struct {
		name   string
		ctx    context.Context
		r      Range
		fn     func(domain.Event) error
		mustOK bool // a cancelled read may end either way
	}{
		{"to the end", t.Context(), Range{}, func(domain.Event) error { return nil }, true},
		{"one tenant", t.Context(), Range{Subject: TenantSubjects("t1")}, func(domain.Event) error { return nil }, true},
		{"stopped", t.Context(), Range{}, func(domain.Event) error { return ErrStop }, true},
		{"cancelled", cancelled, Range{}, func(domain.Event) error { cancel(); return nil }, false},
	} {
		if err := l.ReadRange(c.ctx, c.r, c.fn); err != nil && c.mustOK {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := consumers(); n != before {
			t.Errorf("%s: %d consumers after the read, %d before", c.name, n, before)
		}
	}
}
