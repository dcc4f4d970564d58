package commands_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// laggingFold is a replica whose fold has not reached the other replica's
// usage records yet: its first read of a key is the state before them,
// its later reads (after a conflict caught it up) the real fold's.
type laggingFold struct {
	commands.KeyReader
	before domain.Key
	read   atomic.Bool
}

func (l *laggingFold) Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	if !l.read.Swap(true) {
		return l.before, true
	}
	return l.KeyReader.Get(t, id)
}

func usageRecords(t *testing.T, w *world, org domain.TenantID) []domain.KeyUsed {
	t.Helper()
	var out []domain.KeyUsed
	err := w.log.ReadRange(context.Background(), eventlog.Range{Subject: "kp." + string(org) + "." + domain.AggKeyUse + ".>"}, func(ev domain.Event) error {
		p, err := ev.Decode()
		if err == nil {
			out = append(out, p.(domain.KeyUsed))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Outside the log's message-id window only the expected sequence keeps a
// second record out: a replica deciding on a fold without the other's
// record is refused, catches up, and decides again.
func TestAUseRecordedOnAStaleFoldIsRefusedByTheLogAndDecidedAgain(t *testing.T) {
	hour := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		stale time.Time // the lagging replica's use, the other wrote hour+1
		want  int       // records in the log after both
		wrote bool
	}{
		{"an earlier hour, written late: nothing more", hour.Add(20 * time.Minute), 1, false},
		{"a later hour: its own record, after the other's", hour.Add(2*time.Hour + 5*time.Minute), 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			o, p := w.anOrg(t)
			out, err := w.keyCommands().CreateKey(context.Background(), p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "k"}, "")
			if err != nil {
				t.Fatal(err)
			}
			before, _ := w.keys.Get(o.ID, out.ID)
			if _, err := w.keyCommands().RecordUse(context.Background(), o.ID, out.ID, hour.Add(time.Hour+time.Minute)); err != nil {
				t.Fatal(err)
			}
			lagging := commands.NewKeys(w.deps(), commands.KeysConfig{Keys: &laggingFold{KeyReader: w.keys, before: before}, Claims: w.claims})
			conflicts := w.log.Conflicts()
			wrote, err := lagging.RecordUse(context.Background(), o.ID, out.ID, tt.stale)
			if err != nil {
				t.Fatal(err)
			}
			recs := usageRecords(t, w, o.ID)
			if len(recs) != tt.want || wrote != tt.wrote || w.log.Conflicts() != conflicts+1 {
				t.Fatalf("%d records %+v, wrote %v, %d conflicts; want %d records, wrote %v, one conflict", len(recs), recs, wrote,
					w.log.Conflicts()-conflicts, tt.want, tt.wrote)
			}
			last := hour.Add(time.Hour + time.Minute)
			if tt.stale.After(last) {
				last = tt.stale
			}
			if k, _ := w.keys.Get(o.ID, out.ID); !k.LastUsed.Equal(last) {
				t.Fatalf("last used %v", k.LastUsed)
			}
		})
	}
}
