package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// TestBootstrapResumesAfterACrash: the organization name was claimed but the
// process died before writing the organization; the next start finishes it.
func TestBootstrapResumesAfterACrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	id := commands.Random{}.TenantID()
	claim := domain.NewEvent("claim-1", domain.SystemTenant, domain.AggOrgName, domain.UserAggID("default"),
		domain.Meta{Time: time.Now()}, domain.OrgNameClaimed{Name: "default", OrgID: id})
	if _, err := l.Append(ctx, eventlog.Append{Event: claim, Expect: 0}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	a := startApp(t, dir, nil)
	o, ok := a.Dir.Org("default")
	if !ok || o.ID != id {
		t.Fatalf("organization default = %+v, want id %s", o, id)
	}
	a.as(t, basic(ownerAuth)).do("GET", "/api/v1/orgs/default/projects/default/api-keys", nil).must(t, 200)
}
