# Issue 25: aggregations of the query API key API. In memory over 100,000
# documents (value_count is the baseline: one read per document), then over
# HTTP over 100,000 keys created through the command path (~1 min to seed):
# p50/p99 of each request, "size0" (the same scan, no aggregation) the
# baseline of the same run.
run ./esquery 'BenchmarkAggregations' 20x
run ./api/es 'BenchmarkESQueryAggs' 100x
