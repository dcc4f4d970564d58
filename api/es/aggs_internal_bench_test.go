package es

import (
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
	"github.com/keyplane/keyplane/projections"
)

// BenchmarkAggsOverKeyRecords computes aggregations over the 100,000
// records of a project's key index, as the query API key API reads them
// (no HTTP, no query): value_count of names is the baseline (one look at
// each record), terms of metadata.team reads each record's metadata too.
func BenchmarkAggsOverKeyRecords(b *testing.B) {
	ix := projections.NewKeyIndex()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 100_000; i++ {
		id := domain.KeyID("k" + strconv.Itoa(i))
		ev := domain.NewEvent("e"+strconv.Itoa(i), "org1", domain.AggKey, string(id), domain.Meta{Time: t0}, domain.KeyCreated{
			KeyID: id, Name: "key-" + strconv.Itoa(i), Scope: domain.ScopeProject, Project: "p1",
			Owner: domain.Owner{User: "u" + strconv.Itoa(i%7), Realm: domain.RealmProject}, Hash: domain.HashSecret([]byte("s")).String(),
			Metadata: map[string]any{"team": "team-" + strconv.Itoa(i%10), "n": i}})
		ev.Seq = uint64(i + 1)
		if err := ix.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	recs := ix.Records("org1", "p1", nil)
	for _, tt := range []struct{ name, aggs string }{
		{"value_count_name", `{"v": {"value_count": {"field": "name"}}}`},
		{"terms_username", `{"t": {"terms": {"field": "username"}}}`},
		{"terms_metadata_team", `{"t": {"terms": {"field": "metadata.team"}}}`},
	} {
		a, err := esquery.ParseAggs([]byte(tt.aggs), keySchema, t0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := a.Run(recs, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
