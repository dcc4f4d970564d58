# Sourced by scripts/bench (filter "replay"): issue 6's figures.
# - replay events/s against a raw ordered-consumer read of the same stream
#   and against a read that decodes every event but folds nothing,
#   measured alternately in each of 3 iterations (medians, and CPU/event),
#   and the replay again right after one, its memory still mapped
#   (replay-again/raw: the cost of decoding and folding without the page
#   faults of fresh memory);
# - cold start with 1,000,000 keys from a snapshot and by full replay, 3
#   in-process starts each, and 3 of `keyplane serve` as a new process from
#   the snapshot (what a restart really costs: every page faulted in anew),
#   all inside one run (the fixture takes minutes to write, so this
#   one runs once and reports its own medians, median-ms);
# - live heap of the auth index per key at 1,000,000 keys (bytes/key), and
#   of the audit index per event at 1,000,000 events (bytes/event).
# KEYPLANE_BENCH_REPLAY_EVENTS and KEYPLANE_BENCH_KEYS shrink them.
run ./app 'BenchmarkReplay$' 3x
run ./app 'BenchmarkAuthIndexMemory$|BenchmarkAuditMemory$' 1x
go test -run '^$' -bench 'BenchmarkColdStart$' -benchtime 3x -count 1 -timeout 60m ./app 2>&1 | grep -E '^Benchmark' | tee -a "$out" || true
