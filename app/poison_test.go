package app

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// A snapshot that quarantined an event this binary reads (one a replica of
// an older version could not) is not used: the log is replayed, and the
// key the event concerns authenticates, instead of being refused forever.
func TestASnapshotThatQuarantinedAnEventThisBinaryReadsIsReplayedOver(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	id, encoded := a.as(t, basic(ownerAuth)).createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "read-later"})
	k, _ := a.Keys.ByID(domain.KeyID(id))
	subject := "kp." + string(k.Tenant) + ".key." + id
	created := a.Runner.Applied()
	a.Close()

	withLog(t, dir, func(ctx context.Context, l *eventlog.Log) {
		b, err := l.ReadSnapshot(ctx, snapshotName, nil)
		if err != nil || b == nil {
			t.Fatalf("no snapshot: %v", err)
		}
		s, err := projections.DecodeSavedState(b)
		if err != nil {
			t.Fatal(err)
		}
		// As an older replica would have saved it: the key's creation in
		// quarantine, as an event it could not decode.
		part := binary.AppendUvarint(nil, 1)
		part = binary.AppendUvarint(part, created)
		for _, str := range []string{subject, "does not decode"} {
			part = binary.AppendUvarint(part, uint64(len(str)))
			part = append(part, str...)
		}
		s.Parts[projections.NewQuarantine().Name()] = part
		if err := l.PutSnapshot(ctx, snapshotName, s.Encode()); err != nil {
			t.Fatal(err)
		}
	})
	b := startApp(t, dir, nil)
	if b.ResumedFrom() != 0 {
		t.Fatalf("resumed from the snapshot at %d", b.ResumedFrom())
	}
	b.as(t, apiKey(encoded)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	if n := b.Runner.Quarantine().Len(); n != 0 {
		t.Fatalf("%d events quarantined after the replay", n)
	}
}
