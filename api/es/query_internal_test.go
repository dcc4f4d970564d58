package es

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// A query whose client goes mid-scan stops at its next look at the
// request context, checkEvery records later at most; with the client
// there, the same search evaluates every key.
func TestAQueryStopsWhenItsClientHasGone(t *testing.T) {
	ix := projections.NewKeyIndex()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const n = 3 * checkEvery
	for i := 0; i < n; i++ {
		id := domain.KeyID("k" + strconv.Itoa(i))
		ev := domain.NewEvent("e"+strconv.Itoa(i), "org1", domain.AggKey, string(id), domain.Meta{Time: t0}, domain.KeyCreated{
			KeyID: id, Name: "key-" + strconv.Itoa(i), Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "u", Realm: domain.RealmProject}, Hash: domain.HashSecret([]byte("s")).String()})
		ev.Seq = uint64(i + 1)
		if err := ix.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	q, err := esquery.Parse([]byte(`{"wildcard": {"name": "key-*"}}`), keySchema, t0)
	if err != nil {
		t.Fatal(err)
	}
	evaluated := 0
	counting := func(k rec) bool { evaluated++; return q(k) }
	srt, _ := esquery.ParseSort(nil, keySchema)
	ctx, cancel := context.WithCancel(context.Background())
	x := &esReq{s: New(Config{KeyIndex: ix}), r: httptest.NewRequest("POST", "/_security/_query/api_key", nil).WithContext(ctx),
		org: &domain.Org{ID: "org1"}, pr: &domain.Project{ID: "p1"}}
	if _, total, err := x.search(counting, srt, nil, false, 0, 10, nil, plan{}); err != nil || total != n || evaluated != n {
		t.Fatalf("client there: total %d, evaluated %d, err %v", total, evaluated, err)
	}
	evaluated = 0
	leaving := func(k rec) bool {
		if evaluated++; evaluated == checkEvery/2 {
			cancel() // the client goes
		}
		return q(k)
	}
	if _, _, err := x.search(leaving, srt, nil, false, 0, 10, nil, plan{}); !domain.IsKind(err, domain.KindUnavailable) || evaluated != checkEvery {
		t.Fatalf("client gone: evaluated %d, err %v", evaluated, err)
	}
}
