package es

import (
	"strconv"
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
)

// BenchmarkAggsOverKeyRecords computes aggregations over the 100,000
// records of a project's key index, as the query API key API reads them
// (no HTTP, no query): value_count of names is the baseline (one look at
// each record), terms of metadata.team reads each record's metadata too.
func BenchmarkAggsOverKeyRecords(b *testing.B) {
	ix := keyIndexOf(b, 100_000, func(i int, k *domain.KeyCreated) {
		k.Owner.User = "u" + strconv.Itoa(i%7)
		k.Metadata = map[string]any{"team": "team-" + strconv.Itoa(i%10), "n": i}
	})
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
