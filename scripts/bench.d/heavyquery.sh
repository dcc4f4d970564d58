# Issue 20: creates' p99 at 50 clients, alone and while a heavy wildcard
# query runs over a project of 100,000 keys with 1 KB of metadata each,
# alternating in rounds (KEYPLANE_BENCH_ROUNDS, default 3); p99-ratio is
# the median of with/without. Seeding the keys takes ~20 s, once per count.
run ./app 'BenchmarkCreateUnderHeavyQuery' 1x
