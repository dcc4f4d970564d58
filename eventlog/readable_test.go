package eventlog

import (
	"context"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// nested is metadata n levels deep: {"a": {"a": ... {"a": "x"}}}.
func nested(n int) map[string]any {
	m := map[string]any{"a": "x"}
	for i := 1; i < n; i++ {
		m = map[string]any{"a": m}
	}
	return m
}

// An event its readers cannot decode (metadata 9,999 levels deep, two more
// in the event: past encoding/json's 10,000) is refused as invalid, with
// the rest of its command, and the log holds nothing of it; a readable one
// goes in.
func TestAppendRefusesAnEventItsReadersCannotDecode(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	deep := keyEvent("e-deep", "k1", domain.KeyCreated{KeyID: "k1", Name: "deep", Metadata: nested(9999)})
	fine := keyEvent("e-fine", "k2", domain.KeyCreated{KeyID: "k2", Name: "fine", Metadata: nested(3)})
	_, err := l.Append(ctx, Append{Event: fine, Expect: 0}, Append{Event: deep, Expect: 0})
	if !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("append of an unreadable event: %v (kind %v), want invalid", err, domain.KindOf(err))
	}
	if last, err := l.LastSeq(ctx); err != nil || last != 0 {
		t.Fatalf("the log holds %d events (%v), want none", last, err)
	}
	if _, err := l.Append(ctx, Append{Event: fine, Expect: 0}); err != nil {
		t.Fatalf("append of a readable event: %v", err)
	}
	got, err := l.Last(ctx, Subject(fine))
	if err != nil || got == nil || got.ID != "e-fine" {
		t.Fatalf("last event %v, %v", got, err)
	}
}
