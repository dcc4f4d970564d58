package es_test

import (
	"testing"
)

// BenchmarkESQueryAggs measures aggregations of the query API key API over
// 100,000 keys of one project (fillKeys: ten teams in metadata, distinct
// names), one request at a time over HTTP, and reports each request's p50
// and p99 latency. "size0" is the baseline measured in the same run: the
// same scan and count without aggregations. Run it with -benchtime 100x.
func BenchmarkESQueryAggs(b *testing.B) {
	a := startFilled(b)
	c := benchClient()
	url, auth := a.URL()+"/_security/_query/api_key", basic(ownerAuth)
	for _, q := range []struct{ name, body string }{
		{"size0", `{"size": 0}`},
		{"terms_team", `{"size": 0, "aggs": {"t": {"terms": {"field": "metadata.team"}}}}`},
		{"terms_name", `{"size": 0, "aggs": {"t": {"terms": {"field": "name"}}}}`},
		{"kibana_page", `{"size": 0, "aggs": {"usernames": {"terms": {"field": "username", "size": 10000}},
			"types": {"terms": {"field": "type"}}, "invalidated": {"filter": {"term": {"invalidated": true}}},
			"expired": {"filter": {"range": {"expiration": {"lte": "now"}}}}, "managed": {"filter": {"term": {"metadata.managed": true}}}}}`},
		{"composite_team_page", `{"size": 0, "aggs": {"c": {"composite": {"size": 100, "sources": [{"t": {"terms": {"field": "metadata.team"}}}, {"n": {"terms": {"field": "name"}}}]}}}}`},
	} {
		b.Run(q.name, func(b *testing.B) { benchLatency(b, c, "POST", url, auth, q.body) })
	}
}
