# Issue 27: one project of many keys (KEYPLANE_SCALE_KEYS, default
# 100,000; 1000000 for the million, ~15 min): live heap and resident
# memory per key of the whole process after a GC (keys made through both
# APIs: heap-es-B/key, heap-console-B/key), and p50/p99 of the query API's
# and the console list's queries. Seeding takes ~1 min per 100,000 keys,
# once per count. KEYPLANE_SCALE_HEAPPROFILE=file writes a heap profile
# of the seeded process.
go test -run '^$' -bench 'BenchmarkScale' -benchtime 100x -count "$count" -timeout 90m ./api/es 2>&1 |
  grep -E '^Benchmark' | tee -a "$out" || true
# And a start from the snapshot with 1,000,000 keys in one project (each
# with a metadata id of its own): 5 in-process starts and 5 of `keyplane
# serve` as a new process, medians (median-ms). The fixture (a log and its
# snapshot) takes ~4 min; KEYPLANE_BENCH_COLD_DIR=dir keeps it for the next
# run.
KEYPLANE_BENCH_ONE_PROJECT=1 go test -run '^$' -bench 'BenchmarkColdStart$/from-snapshot' -benchtime 5x -count 1 -timeout 60m ./app 2>&1 |
  grep -E '^Benchmark' | tee -a "$out" || true
