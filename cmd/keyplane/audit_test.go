package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// TestAuditExportStopsReadingAnHourPastUntil writes key creations whose
// stamps are out of log order, as concurrent commands and replicas with
// skewed clocks make them, and exports up to a time in their midst.
func TestAuditExportStopsReadingAnHourPastUntil(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tenant := commands.Random{}.TenantID()
	until := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	// In log order: each key is named for when it was stamped.
	stamps := []struct {
		name string
		at   time.Time
	}{
		{"before", until.Add(-2 * time.Hour)},
		{"just-after", until.Add(30 * time.Minute)},
		{"late-append", until.Add(-10 * time.Second)},       // appended after "just-after": exported
		{"long-after", until.Add(exportSkew + time.Minute)}, // the read stops here
		{"after-the-stop", until.Add(-time.Hour)},           // beyond what the rule promises
	}
	for _, s := range stamps {
		id := commands.Random{}.KeyID()
		m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "alice", Name: "alice"}, CorrelationID: uuid.NewString(), Time: s.at}
		ev := domain.NewEvent(uuid.NewString(), tenant, domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id, Name: s.name,
			Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "alice", Realm: "native"},
			Hash: domain.HashSecret([]byte(id)).String(), RoleDescriptors: domain.RoleDescriptors{}})
		if _, err := l.Append(ctx, eventlog.Append{Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		window timeWindow
		want   string
	}{
		{"until", timeWindow{until: until}, "before late-append"},
		{"no until", timeWindow{}, "before just-after late-append long-after after-the-stop"},
		{"since and until", timeWindow{since: until.Add(-time.Hour), until: until}, "late-append"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, _, err := exportAudit(ctx, l, tenant, tt.window, &out)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var e struct {
					Change struct{ Name string } `json:"change"`
				}
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				names = append(names, e.Change.Name)
			}
			if got := strings.Join(names, " "); got != tt.want || n != len(names) {
				t.Fatalf("exported %q (%d), want %q", got, n, tt.want)
			}
		})
	}
}
