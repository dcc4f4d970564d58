package app

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testproc"
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
		b, err := l.GetSnapshot(ctx, snapshotName)
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

// startAppWithNATS is startApp with the embedded NATS server listening on
// loopback, and its URL: for a test that writes to the log past keyplane.
func startAppWithNATS(t *testing.T) (*App, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Start(ctx, Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", NatsListen: addr, BootstrapOwner: ownerAuth,
		NeverAllowed: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, "nats://" + addr
}

// An organization's event that cannot be folded (its member list may lack a
// removal) refuses every key of that organization and every member's role
// in it, on the ES surface's project users too; other organizations work on.
func TestAnOrganizationEventThatCannotBeFoldedRefusesTheOrganization(t *testing.T) {
	a, url := startAppWithNATS(t)
	alice := a.as(t, basic(ownerAuth))
	alice.do("POST", "/api/v1/orgs", map[string]any{"name": "other"}).must(t, 201)
	_, here := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "here"})
	_, there := alice.createKey("/api/v1/orgs/other/api-keys", map[string]any{"name": "there"})
	alice.do("PUT", "/_security/role/r", map[string]any{"cluster": []string{"manage_own_api_key"}}).must(t, 200)
	alice.do("PUT", "/_security/user/dave", map[string]any{"password": "dave-password", "roles": []string{"r"}}).must(t, 200)
	dave := a.as(t, basic("dave:dave-password"))
	dave.do("GET", "/_security/_authenticate", nil).must(t, 200)
	org := alice.do("GET", "/api/v1/orgs/default", nil).must(t, 200).str("id")
	seq := testproc.PublishUndecodable(t, url, "kp."+org+".org."+org, "MemberAdded", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Runner.WaitFor(ctx, seq); err != nil {
		t.Fatal(err)
	}
	a.as(t, apiKey(here)).do("GET", "/api/v1/whoami", nil).must(t, 401)
	dave.do("GET", "/_security/_authenticate", nil).must(t, 401)
	a.as(t, apiKey(there)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	if r := alice.do("GET", "/api/v1/orgs/default/api-keys", nil); r.status != 403 && r.status != 404 {
		t.Fatalf("a member of the refused organization lists its keys: %d %s", r.status, r.raw)
	}
	alice.do("GET", "/api/v1/orgs/other/api-keys", nil).must(t, 200)
	_, later := alice.createKey("/api/v1/orgs/other/api-keys", map[string]any{"name": "later"})
	a.as(t, apiKey(later)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	ready := a.as(t, "").do("GET", "/readyz", nil).must(t, 200)
	if !strings.Contains(ready.raw, `"subject":"kp.*.org.*"`) || strings.Contains(ready.raw, org) {
		t.Fatalf("/readyz: %s", ready.raw)
	}
}
