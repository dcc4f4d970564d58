# Matchers (issue 20): ns/op and B/op of one wildcard match (glob) at a
# tenth of the limits, at them (255 bytes for index patterns, 1024 for
# wildcard values and resources) and at 60 KB; of a _has_privileges request
# with 64 patterns against 64 names of 25 and 255 bytes; and of a wildcard
# query of 102 and 1024 bytes over 500 keys with 16n bytes of metadata each.
# The tenfold inputs should cost about tenfold, not a hundredfold.
run ./domain 'BenchmarkGlob' 200ms
run ./api 'BenchmarkESHasPrivileges|BenchmarkESWildcardQuery' 10x
