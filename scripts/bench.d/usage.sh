# Sourced by scripts/bench (filter "usage"): issue 24's figures.
# - HTTP ApiKey authentication (1,000 keys in turn) against the no-op
#   handler with usage tracking on, alternating in the same run with it
#   off (rounds of noop, usage-on, usage-off): the medians of noop/usage-on,
#   noop/usage-off and usage-off/usage-on (1: tracking is free);
# - usage records the log gains in an hour when two replicas each see
#   100,000 keys used 10 times (records/op; the goal is 100,000, not
#   2,000,000), and how long the two flushes took (flush-s), in one run
#   (KEYPLANE_BENCH_USAGE_KEYS shrinks it).
KEYPLANE_BENCH_ROUNDS=$((count * 3)) go test -run '^$' -bench 'BenchmarkUsageHTTPAuth$' -benchtime 2s -count 1 -benchmem -v ./app 2>&1 |
  grep -E '^Benchmark|ratio' | tee -a "$out" || true
go test -run '^$' -bench 'BenchmarkUsageRecordsTwoReplicas$' -benchtime 1x -count 1 -timeout 30m ./app 2>&1 | grep -E '^Benchmark' | tee -a "$out" || true
