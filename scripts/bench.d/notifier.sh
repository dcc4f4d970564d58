# Expiry notifier (issue 5): time and allocations of one expiry scan over a
# schedule of 1,000,000 keys and over one of 10,000, 1,000 keys due in both;
# the ratio shows the cost follows the keys due. Filling the million keys
# takes ~15 s and ~1.5 GB, once per run.
run ./notifier 'BenchmarkScan' 1s
