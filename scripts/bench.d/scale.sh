# Issue 27: one project of many keys (KEYPLANE_SCALE_KEYS, default
# 100,000; set 1000000 for the million): live heap and resident memory per
# key of the whole process after a GC (keys made through both APIs), and
# p50/p99 of the query API's and the console list's queries. Seeding takes
# ~1 min per 100,000 keys, once per count.
run ./api/es 'BenchmarkScale' 100x
