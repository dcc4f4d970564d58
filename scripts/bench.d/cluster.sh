# Cluster (issue 8): create-key commands/s and authentications/s with 32
# clients on two replicas over a three-node nats-server cluster (stream R3,
# every server fsyncing before it acknowledges), against one keyplane on its
# embedded node measured in the same run; and revocation propagation from
# one replica to the other (p50/p99, ms). Real processes on loopback, so the
# clients share the machine's cores with five servers.
run ./clustertest 'BenchmarkCluster' 2s
