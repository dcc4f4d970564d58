package es

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esquery"
)

// BenchmarkSearchOverKeyRecords plans and evaluates queries over one
// project's key index as the query API key API does (plan, candidates,
// matcher, page), without HTTP and without building the page's answer:
// the per-candidate cost of a query. 100,000 keys ($KEYPLANE_BENCH_KEYS
// for more), named key-0… with a team and an expiration of 1 to 365 days,
// as BenchmarkESQuery's.
func BenchmarkSearchOverKeyRecords(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEYPLANE_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	ix := keyIndexOf(b, n, func(i int, k *domain.KeyCreated) {
		exp := t0.Add(time.Duration(1+i%365)*24*time.Hour + time.Duration(i)*time.Millisecond)
		k.Expires = &exp
		k.Metadata = map[string]any{"team": "team-" + strconv.Itoa(i%10), "n": i}
	})
	now := t0.Add(time.Hour)
	x := &esReq{s: New(Config{KeyIndex: ix}), r: httptest.NewRequest("POST", "/_security/_query/api_key", nil),
		org: &domain.Org{ID: "org1"}, pr: &domain.Project{ID: "p1"}}
	for _, tt := range []struct{ name, body string }{
		{"bool_range_prefix", `{"query": {"bool": {"filter": [{"range": {"creation": {"gte": "now-1d"}}}, {"prefix": {"name": "key-99"}}],
			"must_not": {"term": {"invalidated": true}}}}, "sort": ["expiration", "name"], "size": 50}`},
		{"prefix_sort_name", `{"query": {"prefix": {"name": "key-99"}}, "sort": ["name"], "size": 50}`},
		{"prefix_range_sort_expiration", `{"query": {"bool": {"filter": [{"prefix": {"name": "key-99"}}, {"range": {"expiration": {"gte": "now+30d"}}}]}}, "sort": [{"expiration": "desc"}], "size": 50}`},
		{"term_metadata_prefix", `{"query": {"bool": {"filter": [{"term": {"metadata.team": "team-3"}}, {"prefix": {"name": "key-13"}}]}}, "size": 50}`},
		{"range_expiration", `{"query": {"range": {"expiration": {"gte": "now+100d", "lt": "now+101d"}}}, "sort": ["expiration"], "size": 50}`},
		{"wildcard_name", `{"query": {"wildcard": {"name": "key-4242*"}}, "sort": ["name"]}`},
		{"term_metadata", `{"query": {"term": {"metadata.team": "team-7"}}, "size": 100}`},
	} {
		var req esQueryRequest
		if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
			b.Fatal(err)
		}
		from, size, _ := pageOf(req)
		q, err := esquery.Parse(req.Query, keySchema, now)
		if err != nil {
			b.Fatal(err)
		}
		srt, err := esquery.ParseSort(req.Sort, keySchema)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				pl := planRequest(req, from, size, false, false, now, nil)
				if _, _, err := x.search(q, srt, nil, false, from, size, nil, pl); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU time: steadier than ns/op on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used (user and system), in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
