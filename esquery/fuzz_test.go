package esquery

import (
	"encoding/json"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// FuzzParse: whatever the query body, parsing fails as a client error or
// gives a query that runs on every document without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"match_all":{}}`,
		`{"bool":{"must":[{"term":{"name":"x"}}],"must_not":{"exists":{"field":"expiration"}}}}`,
		`{"range":{"creation":{"gte":"now-1d/d","lt":1712345678901}}}`,
		`{"range":{"name":{"gt":"a"}}}`,
		`{"prefix":{"metadata.env.tags":{"value":"st"}}}`,
		`{"wildcard":{"name":"*-api-?ey"}}`,
		`{"query_string":{"query":"name:user* AND NOT invalidated:true"}}`,
		`{"simple_query_string":{"query":"manager -other","fields":["name"]}}`,
		`{"terms":{"username":["api_key_user_1","api_key_user_2"]}}`,
		`{"ids":{"values":["a"]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := Parse(json.RawMessage(raw), schema, now)
		if err != nil {
			if !domain.IsKind(err, domain.KindInvalid) {
				t.Fatalf("%q: %v error %v, want invalid", raw, domain.KindOf(err), err)
			}
			return
		}
		for _, d := range docs() {
			q(d)
		}
	})
}

// FuzzParseAggs: whatever the aggregations, parsing fails as a client
// error or gives aggregations that run over every document without
// panicking, failing (if at all) as a client error.
func FuzzParseAggs(f *testing.F) {
	for _, seed := range []string{
		`{"u":{"terms":{"field":"username","size":2,"order":{"_key":"desc"},"missing":"none"}}}`,
		`{"c":{"composite":{"size":1,"after":{"l":null},"sources":[{"l":{"terms":{"field":"metadata.letter","missing_bucket":true}}}]}}}`,
		`{"r":{"date_range":{"field":"expiration","keyed":true,"ranges":[{"key":"k","to":"now+1d"}]}}}`,
		`{"r":{"range":{"field":"invalidated","ranges":[{"from":0.5}]}}}`,
		`{"f":{"filter":{"term":{"invalidated":false}},"aggs":{"m":{"missing":{"field":"expiration"}}}}}`,
		`{"fs":{"filters":{"other_bucket":true,"filters":[{"prefix":{"name":"u"}}]},"aggs":{"v":{"cardinality":{"field":"metadata"}}}}}`,
		`{"v":{"value_count":{"field":"name"}},"g":{"global":{}}}`,
		`{"t":{"terms":{"field":"metadata","include":"[a-z]+","exclude":["dev"]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := ParseAggs(json.RawMessage(raw), schema, now)
		if err == nil {
			_, err = a.Run(docs(), true)
		}
		if err != nil && !domain.IsKind(err, domain.KindInvalid) {
			t.Fatalf("%q: %v error %v, want invalid", raw, domain.KindOf(err), err)
		}
	})
}
