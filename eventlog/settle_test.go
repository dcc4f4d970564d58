package eventlog

import (
	"context"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestLastSettled(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	ev := keyEvent("settled-1", "k-settled", domain.KeyInvalidated{})
	if _, err := l.Append(ctx, Append{Event: ev, Expect: 0}); err != nil {
		t.Fatal(err)
	}
	got, err := l.LastSettled(ctx, Subject(ev))
	if err != nil || got == nil || got.ID != "settled-1" {
		t.Fatalf("a stored event: %v %v", got, err)
	}
	start := time.Now()
	got, err = l.LastSettled(ctx, Subject(keyEvent("x", "k-empty", domain.KeyInvalidated{})))
	if err != nil || got != nil {
		t.Fatalf("an empty subject: %v %v", got, err)
	}
	if time.Since(start) < settleWait {
		t.Fatalf("an empty subject was given up on after %v, before %v", time.Since(start), settleWait)
	}
}
