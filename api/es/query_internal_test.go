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

// t0 is when the keys of keyIndexOf were created.
var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// keyIndexOf is the key index of n keys key-0… created at t0 by user u in
// project p1 of org1; vary, if given, adjusts the i-th key's event.
func keyIndexOf(tb testing.TB, n int, vary func(i int, k *domain.KeyCreated)) *projections.KeyIndex {
	tb.Helper()
	ix := projections.NewKeyIndex()
	for i := 0; i < n; i++ {
		id := domain.KeyID("k" + strconv.Itoa(i))
		k := domain.KeyCreated{KeyID: id, Name: "key-" + strconv.Itoa(i), Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "u", Realm: domain.RealmProject}, Hash: domain.HashSecret([]byte("s")).String()}
		if vary != nil {
			vary(i, &k)
		}
		ev := domain.NewEvent("e"+strconv.Itoa(i), "org1", domain.AggKey, string(id), domain.Meta{Time: t0}, k)
		ev.Seq = uint64(i + 1)
		if err := ix.Apply(ev); err != nil {
			tb.Fatal(err)
		}
	}
	return ix
}

// A query whose client goes mid-scan stops at its next look at the
// request context, checkEvery records later at most; with the client
// there, the same search evaluates every key.
func TestAQueryStopsWhenItsClientHasGone(t *testing.T) {
	const n = 3 * checkEvery
	ix := keyIndexOf(t, n, nil)
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
