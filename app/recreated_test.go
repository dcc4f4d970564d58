package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// TestAKeyCreatedAgainForAnotherOwnerIsNotQueriedByItsFormerOwner: the
// log creates a key again (no command does) for another owner of the same
// project; the key index keeps its first record, of the former owner, yet
// a query of that owner's keys (manage_own_api_key) does not show the key
// that is someone else's now; its new owner does.
func TestAKeyCreatedAgainForAnotherOwnerIsNotQueriedByItsFormerOwner(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	alice := a.as(t, basic(ownerAuth))
	alice.do("PUT", "/_security/role/r", map[string]any{"cluster": []string{"manage_own_api_key"}}).must(t, 200)
	for _, u := range []string{"dave", "erin"} {
		alice.do("PUT", "/_security/user/"+u, map[string]any{"password": u + "-password", "roles": []string{"r"}}).must(t, 200)
	}
	dave := a.as(t, basic("dave:dave-password"))
	id := dave.do("POST", "/_security/api_key", map[string]any{"name": "daves"}).must(t, 200).str("id")
	k, ok := a.Keys.Get(a.mustOrg(t, "default"), domain.KeyID(id))
	if !ok {
		t.Fatal("no key")
	}
	again := domain.KeyCreated{KeyID: k.ID, Name: "erins", Scope: k.Scope, Project: k.Project, Type: k.Type,
		Owner: domain.Owner{User: "erin", Realm: k.Owner.Realm}, Hash: k.Hash.String(), RoleDescriptors: k.RoleDescriptors, LimitedBy: k.LimitedBy}
	ev := domain.NewEvent("created-again", k.Tenant, domain.AggKey, id, domain.Meta{Actor: k.CreatedBy, Time: time.Now()}, again)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seqs, err := a.Log.Append(ctx, eventlog.Append{Event: ev, Expect: k.Seq})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Runner.WaitFor(ctx, seqs[0]); err != nil {
		t.Fatal(err)
	}
	if k, _ := a.Keys.Get(k.Tenant, k.ID); k.Owner.User != "erin" {
		t.Fatalf("the key is %s's", k.Owner.User)
	}
	for _, q := range []string{`{}`, `{"query":{"ids":{"values":["` + id + `"]}}}`, `{"query":{"prefix":{"name":"daves"}}}`} {
		got := dave.do("POST", "/_security/_query/api_key", q, "Content-Type", "application/json").must(t, 200)
		if strings.Contains(got.raw, id) || strings.Contains(got.raw, "erins") {
			t.Errorf("%s: dave sees erin's key: %s", q, got.raw)
		}
	}
	erin := a.as(t, basic("erin:erin-password"))
	if got := erin.do("POST", "/_security/_query/api_key", `{}`, "Content-Type", "application/json").must(t, 200); !strings.Contains(got.raw, "erins") {
		t.Errorf("erin does not query her key: %s", got.raw)
	}
	mustMatchRebuild(t, a)
	if got := erin.do("GET", "/_security/api_key?owner=true&id="+id, nil); got.status != 200 || !strings.Contains(got.raw, "erins") {
		t.Errorf("erin does not get her key: %d %s", got.status, got.raw)
	}
}
