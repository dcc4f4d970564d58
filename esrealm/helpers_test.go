package esrealm

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ownerOf(t domain.TenantID) domain.Principal {
	return domain.Principal{Kind: domain.ActorUser, User: "alice", Memberships: map[domain.TenantID]domain.Role{t: domain.RoleOwner}}
}

// fold replays events into a key, as the projections do.
func fold(t *testing.T, evs ...domain.Event) domain.Key {
	t.Helper()
	var k domain.Key
	for i, e := range evs {
		e.Seq = uint64(i + 1)
		if err := k.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func mustRDs(t *testing.T, s string) domain.RoleDescriptors {
	t.Helper()
	rds, err := domain.ParseRoleDescriptors(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return rds
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden is one released event version in domain/testdata/events and the
// payload it must decode to.
type golden struct {
	file string
	want domain.Payload
}

// goldenDir holds every released event version, the realm's with the rest.
const goldenDir = "../domain/testdata/events/"

// checkGolden decodes each golden event, through domain's registry as
// every reader does, and compares it with its payload; when it is the
// current version, writing the payload today must give the stored data
// byte for byte. A released version never changes meaning.
func checkGolden(t *testing.T, tests []golden) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(goldenDir + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var ev domain.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			p, err := ev.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := jsonOf(t, p), jsonOf(t, tt.want); g != w || p.EventType() != tt.want.EventType() {
				t.Fatalf("decoded %s %s, want %s", p.EventType(), g, w)
			}
			if ev.Version == p.EventVersion() {
				again := domain.NewEvent(ev.ID, ev.Tenant, ev.AggType, ev.AggID, domain.Meta{Time: ev.Time}, p)
				if string(again.Data) != string(ev.Data) {
					t.Fatalf("written today as %s, golden %s", again.Data, ev.Data)
				}
			}
		})
	}
}

// TestEveryReleasedEventVersionHasAGoldenFile: each realm event this
// package registers has a golden file and a payload in goldenRealmEvents,
// and domain's registry knows it (domain's test of the same name checks
// domain's own events).
func TestEveryReleasedEventVersionHasAGoldenFile(t *testing.T) {
	checked := map[string]bool{}
	for _, g := range goldenRealmEvents(t) {
		checked[g.file] = true
	}
	known := map[string]bool{}
	for _, typ := range domain.EventTypes() {
		known[typ] = true
	}
	for _, p := range events {
		file := fmt.Sprintf("%s.v%d.json", p.EventType(), p.EventVersion())
		if _, err := os.Stat(goldenDir + file); err != nil {
			t.Errorf("%s has no golden file: %v", file, err)
		}
		if !checked[file] {
			t.Errorf("no golden table says what %s decodes to", file)
		}
		if !known[p.EventType()] {
			t.Errorf("domain's registry does not know %s", p.EventType())
		}
	}
}
