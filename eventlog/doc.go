// Package eventlog is the one place that knows NATS JetStream.
//
// Layout of the log (written down here and nowhere else):
//
//	stream   KEYPLANE (file storage, deny delete, deny purge)
//	subjects kp.<tenant>.<aggregate-type>.<aggregate-id> (named and parsed in subject.go)
//	         kp._sys.user.<hex(name)>        a login
//	         kp._sys.orgname.<hex(name)>     claim of an organization name
//	         kp.<org>.org.<org>              the organization aggregate
//	         kp.<org>.key.<key-id>           one API key
//	         kp.<org>.idem.<hash>            claim of an Idempotency-Key
//	         kp.<org>.esrealm.<project-id>   a project's Elasticsearch native
//	                                         realm: users, roles, app privileges
//	         kp.<org>.notice.<key-id>-<window>-<expiry-unix>
//	                                         one expiry notice, then its
//	                                         outcomes (delivered, failed)
//	body     the JSON of domain.Event (written and read by eventcodec)
//	headers  Nats-Msg-Id = event id (deduplicates a retried publish),
//	         Nats-Expected-Last-Subject-Sequence = the aggregate's last
//	         sequence (optimistic concurrency; 0 means create-if-absent)
//	consumer "notifier": durable, on kp.*.notice.>, shared by every replica
//	         (each notice is delivered to one; see Consume);
//	         "kp-follow-<uuid>": ephemeral, in memory, one per replica's
//	         projections, replaced on any break (see Subscribe)
//	objects  KEYPLANE_SNAPSHOTS (object store): "projections", the latest
//	         snapshot of every projection and the sequence it covers; a
//	         cache of the stream, never a source of truth (snapshot.go)
//	kv       KEYPLANE_CONFIG: shared secrets (idempotency, operator token)
//	kv       KEYPLANE_THROTTLE (memory, an hour's TTL): the password
//	         throttle's counts, keyed by hashes, compare-and-swap writes
//	         (counters.go)
//	lock     <data-dir>/keyplane.lock: one process per embedded data dir
//
// The command layer sees the log as a Store (store.go): appends with
// expected sequences, atomic per command, and the waits that give
// read-your-writes; eventlog/storetest is the suite a Store must pass.
//
// A "wrong last sequence" answer becomes domain.ErrConflict. A publish whose
// answer timed out may have been stored: Append reads the subject's last
// message and compares event ids before reporting anything.
//
// On a cluster every asset is replicated Options.Replicas times. A clustered
// stream refuses an append while another to the same subject is in flight,
// so a refusal can come before the subject shows anything (LastSettled).
// Append fails at once while the client is disconnected, and no wait on the
// servers outlasts 3 s or the caller's deadline: commands answer 503 rather
// than queue behind a dead leader.
package eventlog
