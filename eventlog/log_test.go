package eventlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func openTest(t testing.TB) *Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func keyEvent(id, key string, p domain.Payload) domain.Event {
	return domain.NewEvent(id, "t1", domain.AggKey, key, domain.Meta{Time: time.Now()}, p)
}

func TestAppendChecksTheExpectedSequence(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	seqs, err := l.Append(ctx, Append{Event: keyEvent("e1", "k1", domain.KeyInvalidated{}), Expect: 0})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		app    Append
		kind   domain.Kind
		wantOK bool
	}{
		{"create-if-absent on an existing subject", Append{Event: keyEvent("e2", "k1", domain.KeyInvalidated{}), Expect: 0}, domain.KindConflict, false},
		{"stale expected sequence", Append{Event: keyEvent("e3", "k1", domain.KeyInvalidated{}), Expect: seqs[0] + 5}, domain.KindConflict, false},
		{"right expected sequence", Append{Event: keyEvent("e4", "k1", domain.KeyInvalidated{}), Expect: seqs[0]}, 0, true},
		{"another subject is independent", Append{Event: keyEvent("e5", "k2", domain.KeyInvalidated{}), Expect: 0}, 0, true},
		{"no check", Append{Event: keyEvent("e6", "k1", domain.KeyInvalidated{}), AnySeq: true}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Append(ctx, tt.app)
			if tt.wantOK != (err == nil) || (!tt.wantOK && !domain.IsKind(err, tt.kind)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestARetriedPublishIsStoredOnce(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	ev := keyEvent("same-id", "k1", domain.KeyInvalidated{})
	a, err := l.Append(ctx, Append{Event: ev, AnySeq: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Append(ctx, Append{Event: ev, AnySeq: true})
	if err != nil {
		t.Fatal(err)
	}
	last, _ := l.LastSeq(ctx)
	if a[0] != b[0] || last != a[0] {
		t.Fatalf("duplicate stored: %v %v last %d", a, b, last)
	}
}

func TestSubscribeDeliversInOrderFromASequence(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if _, err := l.Append(ctx, Append{Event: keyEvent(fmt.Sprint(i), fmt.Sprint("k", i%5), domain.KeyInvalidated{}), AnySeq: true}); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got []uint64
	_ = l.Subscribe(sctx, 11, func(ev domain.Event) error {
		got = append(got, ev.Seq)
		if ev.Seq == 50 {
			cancel()
		}
		return nil
	})
	if len(got) != 40 || got[0] != 11 || got[39] != 50 {
		t.Fatalf("got %d events from %v", len(got), got[:min(3, len(got))])
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("out of order at %d", i)
		}
	}
	last, err := l.Last(ctx, SubjectOf("t1", domain.AggKey, "k3"))
	if err != nil || last == nil || last.ID != "48" {
		t.Fatalf("last of k3 = %+v, %v", last, err)
	}
	none, err := l.Last(ctx, SubjectOf("t1", domain.AggKey, "nope"))
	if err != nil || none != nil {
		t.Fatalf("last of an empty subject = %+v, %v", none, err)
	}
}

func TestStreamDeniesDeleteAndPurge(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	seqs, err := l.Append(ctx, Append{Event: keyEvent("e1", "k1", domain.KeyInvalidated{}), Expect: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.stream.DeleteMsg(ctx, seqs[0]); err == nil {
		t.Fatal("deleting an event must be refused")
	}
	if err := l.stream.Purge(ctx); err == nil {
		t.Fatal("purging the log must be refused")
	}
}

// TestEmbeddedServerFsyncsBeforeAcknowledging: the default is sync always.
func TestEmbeddedServerFsyncsBeforeAcknowledging(t *testing.T) {
	if cfg := openTest(t).Server().JetStreamConfig(); cfg == nil || !cfg.SyncAlways {
		t.Fatalf("embedded JetStream config %+v: want sync always", cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, Options{DataDir: t.TempDir(), FsyncInterval: time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if cfg := l.Server().JetStreamConfig(); cfg.SyncAlways || cfg.SyncInterval != time.Minute {
		t.Fatalf("relaxed config %+v", cfg)
	}
}
