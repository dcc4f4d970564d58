package projections

import (
	"slices"
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// keyEvent is event seq of key id in tenant t.
func keyEvent(seq uint64, t domain.TenantID, id domain.KeyID, p domain.Payload) domain.Event {
	ev := domain.NewEvent("e", t, domain.AggKey, string(id), domain.Meta{Actor: alice, Time: t0}, p)
	ev.Seq = seq
	return ev
}

func created(seq uint64, t domain.TenantID, id domain.KeyID) domain.Event {
	return keyEvent(seq, t, id, domain.KeyCreated{KeyID: id, Name: string(id), Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
		Owner: domain.Owner{User: "alice"}, Hash: hashHex})
}

// listed is tenant t's keys as List gives them, by id, as "id@seq".
func listed(ks *Keys, t domain.TenantID) []string {
	keys, total := ks.List(Filter{Tenant: t}, Page{Sort: "id", Size: -1})
	out := make([]string, 0, total)
	for _, k := range keys {
		s := string(k.ID) + "@" + strconv.FormatUint(k.Seq, 10)
		if k.Invalidated {
			s += "x"
		}
		out = append(out, s)
	}
	return out
}

// TestKeysListEachTenantsLatestVersions: a tenant's list holds every key
// of its own once, at its latest version, whether the list was folded or
// restored from a snapshot and folded on.
func TestKeysListEachTenantsLatestVersions(t *testing.T) {
	md := map[string]any{"v": 2.0}
	head := []domain.Event{
		created(1, "o1", "a"), created(2, "o1", "b"), created(3, "o2", "c"),
		keyEvent(4, "o1", "a", domain.KeyUpdated{Metadata: &md}),
		keyEvent(5, "o1", "b", domain.KeyInvalidated{}),
	}
	tail := []domain.Event{created(6, "o1", "d"), keyEvent(7, "o2", "c", domain.KeyInvalidated{}), keyEvent(8, "o1", "a", domain.KeyInvalidated{})}
	folded := NewKeys()
	fold(t, []Snapshotter{folded}, head)
	restored := restoreInto(t, folded, NewKeys())
	for _, c := range []struct {
		name   string
		events []domain.Event
		o1, o2 []string
	}{
		{"head", nil, []string{"a@4", "b@5x"}, []string{"c@3"}},
		{"tail", tail, []string{"a@8x", "b@5x", "d@6"}, []string{"c@7x"}},
	} {
		for name, ks := range map[string]*Keys{"folded": folded, "restored": restored} {
			fold(t, []Snapshotter{ks}, c.events)
			if got := listed(ks, "o1"); !slices.Equal(got, c.o1) {
				t.Errorf("%s, %s: o1 lists %v, want %v", c.name, name, got, c.o1)
			}
			if got := listed(ks, "o2"); !slices.Equal(got, c.o2) {
				t.Errorf("%s, %s: o2 lists %v, want %v", c.name, name, got, c.o2)
			}
			if got := listed(ks, "o3"); len(got) != 0 {
				t.Errorf("%s, %s: a tenant without keys lists %v", c.name, name, got)
			}
			if _, ok := ks.Get("o2", "a"); ok {
				t.Errorf("%s, %s: another tenant's key was found", c.name, name)
			}
			var scanned []domain.KeyID
			for _, k := range ks.Select("o1", func(*domain.Key) bool { return true }) {
				scanned = append(scanned, k.ID)
			}
			if slices.Sort(scanned); len(scanned) != len(c.o1) || scanned[0] != "a" {
				t.Errorf("%s, %s: Select of o1 gives %v", c.name, name, scanned)
			}
		}
	}
}
