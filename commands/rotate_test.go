package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// replayed is the key list folded afresh from the whole log, as a restart
// without snapshots rebuilds it.
func (w *world) replayed(t *testing.T, tenant domain.TenantID) projections.PastKeys {
	t.Helper()
	past, err := projections.KeysAsOf(context.Background(), w.log, tenant, projections.AsOf{Seq: w.lastSeq(t)})
	if err != nil {
		t.Fatal(err)
	}
	return past
}

// A rotation is one atomic append: when the log refuses any part of it
// (here the successor's subject is taken, as a crash or a rival writer
// could leave it), none of it is stored; replaying the log finds neither
// the successor nor the old key's shortened expiry.
func TestARotationWhoseSuccessorIsRefusedWritesNeitherHalf(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o, p := w.anOrg(t)
	create := func(name string) commands.Created {
		out, err := w.keyCommands().CreateKey(ctx, p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: name, Expiration: "30d"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	old, taken := create("old"), create("taken")
	d := w.deps()
	d.Source = &reusedKeyID{countingSource: w.ids, taken: taken.ID, n: 1}
	cmds := commands.NewKeys(d, commands.KeysConfig{Keys: w.keys, Claims: w.claims, SecretKey: []byte("test-secret-key")})
	before := w.lastSeq(t)
	_, err := cmds.RotateKey(ctx, p, meta(), o.ID, old.ID, domain.RotateKey{Grace: "0s"}, "idem-1")
	if !domain.IsKind(err, domain.KindConflict) {
		t.Fatalf("err %v, want a conflict (the successor's id is taken)", err)
	}
	if after := w.lastSeq(t); after != before {
		t.Fatalf("the log went from %d to %d: part of the rotation was written", before, after)
	}
	k, ok := w.replayed(t, o.ID).Get(o.ID, old.ID)
	if !ok || k.RotatedTo != "" || !k.Expires.Equal(old.Expires) {
		t.Fatalf("replayed old key %+v: the refused rotation left a trace", k)
	}
}

// A rotation that is stored is stored whole, as one append of adjacent
// events: replaying the log finds the successor and the old key's new end
// together, and the secret in neither.
func TestARotationIsOneAppendThatAReplayFindsWhole(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o, p := w.anOrg(t)
	old, err := w.keyCommands().CreateKey(ctx, p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "old", Expiration: "30d"}, "")
	if err != nil {
		t.Fatal(err)
	}
	before := w.lastSeq(t)
	out, err := w.keyCommands().RotateKey(ctx, p, meta(), o.ID, old.ID, domain.RotateKey{Grace: "1h"}, "idem-2")
	if err != nil {
		t.Fatal(err)
	}
	if after := w.lastSeq(t); after != before+3 {
		t.Fatalf("the log went from %d to %d, want the rotation, the successor and the claim", before, after)
	}
	var evs []domain.Event
	err = w.log.ReadRange(ctx, eventlog.Range{From: before + 1, To: before + 3}, func(ev domain.Event) error {
		evs = append(evs, ev)
		return nil
	})
	// The successor and the claim go first: whoever sees the key rotated
	// finds both.
	if err != nil || len(evs) != 3 || evs[0].Type != "KeyCreated" || evs[1].Type != "IdempotencyKeyClaimed" || evs[2].Type != "KeyRotated" {
		t.Fatalf("read %d events (%v): %+v", len(evs), err, evs)
	}
	for _, ev := range evs {
		if strings.Contains(string(ev.Data), string(out.Secret)) {
			t.Fatalf("the secret is in %s", ev.Type)
		}
	}
	past := w.replayed(t, o.ID)
	k, _ := past.Get(o.ID, old.ID)
	n, _ := past.Get(o.ID, out.ID)
	if k.RotatedTo != out.ID || !k.Expires.Equal(testNow.Add(time.Hour)) || n.RotatedFrom != old.ID || n.Name != "old" {
		t.Fatalf("replayed old key %+v, successor %+v", k, n)
	}
}
