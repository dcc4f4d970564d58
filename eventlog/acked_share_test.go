package eventlog

import (
	"context"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// ackedKeys is an AckedApplier that keeps what Commit hands it.
type ackedKeys struct{ created []domain.KeyCreated }

func (a *ackedKeys) WaitFor(context.Context, uint64) error { return nil }

func (a *ackedKeys) ApplyAcked(evs []domain.Event) {
	for _, ev := range evs {
		if p, err := ev.Decode(); err == nil {
			a.created = append(a.created, p.(domain.KeyCreated))
		}
	}
}

// TestCommittedKeysShareTheirCreatorsLimitedBy: the keys one user creates
// through Elasticsearch's API carry the same limited_by; folded the moment
// the log acknowledges them, they hold one decoded copy of it, as they do
// when the subscription brings them.
func TestCommittedKeysShareTheirCreatorsLimitedBy(t *testing.T) {
	l := openTest(t)
	limit := func() []domain.RoleDescriptors {
		return []domain.RoleDescriptors{{"owner": {Cluster: domain.StringList{"all"}, Indices: []domain.IndexPrivileges{{Names: domain.StringList{"*"}, Privileges: domain.StringList{"all"}}}}}}
	}
	w := &ackedKeys{}
	for _, id := range []string{"k1", "k2"} {
		ev := keyEvent("e-"+id, id, domain.KeyCreated{KeyID: domain.KeyID(id), Name: id, Hash: "h", LimitedBy: limit()})
		if _, err := l.Commit(context.Background(), w, Append{Event: ev, Expect: 0}); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.created) != 2 || len(w.created[0].LimitedBy) != 1 || w.created[0].LimitedBy[0]["owner"].Cluster[0] != "all" {
		t.Fatalf("folded %+v", w.created)
	}
	if &w.created[0].LimitedBy[0] != &w.created[1].LimitedBy[0] {
		t.Error("two keys with the same limited_by hold two copies of it")
	}
}
