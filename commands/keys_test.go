package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// staleKeys answers, the first time only, a key as it was before its last
// change: the command decides on a stale view, as a replica whose
// projections lag would.
type staleKeys struct {
	live  commands.KeyReader
	stale domain.Key
	reads int
}

func (s *staleKeys) Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	s.reads++
	if s.reads == 1 {
		return s.stale, true
	}
	return s.live.Get(t, id)
}

func TestKeyCommandsByOutcome(t *testing.T) {
	ctx := context.Background()
	metadata := func(v string) domain.UpdateKey {
		m := map[string]any{"v": v}
		return domain.UpdateKey{Metadata: &m}
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID)
	}{
		{"an update decided on a stale key conflicts, catches up and succeeds", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			before, _ := w.keys.Get(o.ID, id)
			if _, err := w.keyCommands().UpdateKey(ctx, p, meta(), o.ID, id, metadata("first")); err != nil {
				t.Fatal(err)
			}
			stale := &staleKeys{live: w.keys, stale: before}
			cmds := commands.NewKeys(w.deps(), commands.KeysConfig{Keys: stale, Claims: w.claims})
			changed, err := cmds.UpdateKey(ctx, p, meta(), o.ID, id, metadata("second"))
			if err != nil || !changed {
				t.Fatalf("changed %v, err %v", changed, err)
			}
			if stale.reads != 2 {
				t.Fatalf("decided %d times, want 2 (the stale view, then the caught-up one)", stale.reads)
			}
			if k, _ := w.keys.Get(o.ID, id); k.Metadata["v"] != "second" {
				t.Fatalf("metadata %v after the retry", k.Metadata)
			}
		}},
		{"a refused decision appends nothing", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			before := w.lastSeq(t)
			m := map[string]any{"_reserved": 1}
			_, err := w.keyCommands().UpdateKey(ctx, p, meta(), o.ID, id, domain.UpdateKey{Metadata: &m})
			if !domain.IsKind(err, domain.KindInvalid) {
				t.Fatalf("err %v, want invalid", err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"an update that changes nothing appends nothing", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			before := w.lastSeq(t)
			changed, err := w.keyCommands().UpdateKey(ctx, p, meta(), o.ID, id, domain.UpdateKey{})
			if err != nil || changed {
				t.Fatalf("changed %v, err %v", changed, err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"a key of another organization is not found and nothing is appended", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			other, q := w.anOrg(t)
			before := w.lastSeq(t)
			if _, err := w.keyCommands().InvalidateKey(ctx, q, meta(), other.ID, id, ""); !domain.IsKind(err, domain.KindNotFound) {
				t.Fatalf("err %v, want not found", err)
			}
			if after := w.lastSeq(t); after != before {
				t.Fatalf("the log went from %d to %d", before, after)
			}
		}},
		{"invalidating twice reports the second as no change", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			for i, want := range []bool{true, false} {
				did, err := w.keyCommands().InvalidateKey(ctx, p, meta(), o.ID, id, "")
				if err != nil || did != want {
					t.Fatalf("invalidation %d: did %v, err %v", i+1, did, err)
				}
			}
		}},
		{"a create answers the key under the injected id and clock", func(t *testing.T, w *world, o *domain.Org, p domain.Principal, id domain.KeyID) {
			k, ok := w.keys.Get(o.ID, id)
			if !ok || k.Created != testNow || len(id) < len("key-abcdefgh") || id[:12] != "key-abcdefgh" {
				t.Fatalf("key %q created %v (found %v)", id, k.Created, ok)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			o, p := w.anOrg(t)
			out, err := w.keyCommands().CreateKey(ctx, p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "k"}, "")
			if err != nil {
				t.Fatal(err)
			}
			tc.run(t, w, o, p, out.ID)
		})
	}
}

func TestCreateKeysByOutcome(t *testing.T) {
	ctx := context.Background()
	invalid := domain.KindInvalid
	valid := func(o *domain.Org, n int) []domain.CreateKey {
		cs := make([]domain.CreateKey, n)
		for i := range cs {
			cs[i] = domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: fmt.Sprintf("k%d", i)}
		}
		return cs
	}
	for _, tc := range []struct {
		name    string
		keys    func(o *domain.Org) []domain.CreateKey
		wantErr *domain.Kind // nil: every key is created
	}{
		{"three keys are created in one atomic batch", func(o *domain.Org) []domain.CreateKey { return valid(o, 3) }, nil},
		{"the largest batch the log takes is created whole", func(o *domain.Org) []domain.CreateKey { return valid(o, commands.MaxCreateKeys) }, nil},
		{"one invalid key among valid ones creates none", func(o *domain.Org) []domain.CreateKey {
			cs := valid(o, 3)
			cs[2].RoleDescriptors = json.RawMessage(`{"r": {"cluster": "not a list"}}`)
			return cs
		}, &invalid},
		{"one key with an expiration in the past creates none", func(o *domain.Org) []domain.CreateKey {
			cs := valid(o, 3)
			cs[1].Expiration = "-1d"
			return cs
		}, &invalid},
		{"more keys than one batch holds creates none", func(o *domain.Org) []domain.CreateKey { return valid(o, commands.MaxCreateKeys+1) }, &invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			o, p := w.anOrg(t)
			cs := tc.keys(o)
			before := w.lastSeq(t)
			out, err := w.keyCommands().CreateKeys(ctx, p, meta(), cs)
			after := w.lastSeq(t)
			if tc.wantErr != nil {
				if !domain.IsKind(err, *tc.wantErr) || after != before {
					t.Fatalf("err %v (want kind %d), log went from %d to %d", err, *tc.wantErr, before, after)
				}
				return
			}
			if err != nil || len(out) != len(cs) || after != before+uint64(len(cs)) {
				t.Fatalf("err %v, %d created of %d, log went from %d to %d", err, len(out), len(cs), before, after)
			}
			// The answer comes once the projections hold every key.
			for i, c := range out {
				if k, ok := w.keys.Get(o.ID, c.ID); !ok || k.Name != cs[i].Name || c.Secret == "" {
					t.Fatalf("key %d (%s) not found after the answer", i, c.ID)
				}
			}
		})
	}
}

// reusedKeyID is a Source whose n-th key id is one already taken.
type reusedKeyID struct {
	*countingSource
	taken domain.KeyID
	n     int
	calls int
}

func (s *reusedKeyID) KeyID() domain.KeyID {
	s.calls++
	if s.calls == s.n {
		return s.taken
	}
	return s.countingSource.KeyID()
}

func TestCreateKeysWhoseOneAppendIsRefusedCreatesNone(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o, p := w.anOrg(t)
	first, err := w.keyCommands().CreateKey(ctx, p, meta(), domain.CreateKey{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "first"}, "")
	if err != nil {
		t.Fatal(err)
	}
	d := w.deps()
	d.Source = &reusedKeyID{countingSource: w.ids, taken: first.ID, n: 2}
	cmds := commands.NewKeys(d, commands.KeysConfig{Keys: w.keys, Claims: w.claims})
	before := w.lastSeq(t)
	cs := []domain.CreateKey{{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "a"}, {Tenant: o.ID, Scope: domain.ScopeOrg, Name: "b"},
		{Tenant: o.ID, Scope: domain.ScopeOrg, Name: "c"}}
	if _, err := cmds.CreateKeys(ctx, p, meta(), cs); !domain.IsKind(err, domain.KindConflict) {
		t.Fatalf("err %v, want a conflict (the second key's id is taken)", err)
	}
	if after := w.lastSeq(t); after != before {
		t.Fatalf("the log went from %d to %d: part of the batch was written", before, after)
	}
}
