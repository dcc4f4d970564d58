package eventlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// deepJSON is an event whose metadata nests past what encoding/json reads.
func deepJSON() []byte {
	return []byte(`{"id":"bad","type":"KeyCreated","v":1,"tenant":"t1","agg_type":"key","agg_id":"k9","data":{"metadata":` +
		strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}}`)
}

// publishRaw writes data on subject as keyplane would (with its Nats-Msg-Id),
// past Append and its decoding.
func publishRaw(t *testing.T, l *Log, subject, id string, data []byte) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = data
	if _, err := l.js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

func TestReadersCarryOnPastAnEventThatDoesNotDecode(t *testing.T) {
	l := openReadLog(t) // 5 events
	publishRaw(t, l, "kp.t1.key.k9", "bad", deepJSON())
	publishRaw(t, l, "kp.t1.key.k8", "broken", []byte(`{"id":`))
	ev := domain.NewEvent("after", "t2", domain.AggKey, "c", domain.Meta{Time: time.Now()}, domain.KeyInvalidated{})
	if _, err := l.Append(t.Context(), Append{Event: ev, AnySeq: true}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, got []domain.Event) {
		t.Helper()
		if len(got) != 8 {
			t.Fatalf("read %d events, want 8", len(got))
		}
		for i, want := range []string{"kp.t1.key.k9", "kp.t1.key.k8"} {
			bad := got[5+i]
			if !IsUndecodable(bad) || bad.Seq != uint64(6+i) || Subject(bad) != want || time.Since(bad.Time) > time.Minute {
				t.Errorf("event %d = %+v, want an undecodable stand-in on %s", 6+i, bad, want)
			}
			if _, err := bad.Decode(); err == nil {
				t.Error("a stand-in must not decode")
			}
		}
		if got[7].ID != "after" {
			t.Errorf("the event after them is %q", got[7].ID)
		}
	}
	t.Run("read range", func(t *testing.T) {
		var got []domain.Event
		if err := l.ReadRange(t.Context(), Range{}, func(ev domain.Event) error { got = append(got, ev); return nil }); err != nil {
			t.Fatal(err)
		}
		check(t, got)
	})
	t.Run("subscribe", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var got []domain.Event
		err := l.Subscribe(ctx, 1, func(ev domain.Event) error {
			got = append(got, ev)
			if len(got) == 8 {
				cancel()
			}
			return nil
		})
		if len(got) != 8 {
			t.Fatalf("subscription ended with %v after %d events", err, len(got))
		}
		check(t, got)
	})
	t.Run("one event", func(t *testing.T) {
		ev, err := l.Event(t.Context(), 6)
		if err != nil || !IsUndecodable(ev) || ev.ID != "bad" || Subject(ev) != "kp.t1.key.k9" || time.Since(ev.Time) > time.Minute {
			t.Fatalf("Event(6) = %+v, %v", ev, err)
		}
		last, err := l.Last(t.Context(), "kp.t1.key.k8")
		if err != nil || last == nil || last.ID != "broken" || last.Seq != 7 {
			t.Fatalf("Last = %+v, %v", last, err)
		}
	})
}
