// Package projections holds the read models folded from the log: the key
// list (which is also the command side's view of each key aggregate), the
// auth index, and the runner that feeds them from one ordered subscription
// and lets a command wait until its own event has been applied
// (read-your-writes: a revoked key is refused on the very next request).
//
// Every projection records the last sequence it applied; folds are
// deterministic, so replaying the log rebuilds the same state. An event
// that does not decode or that a projection refuses neither stops the
// runner nor is skipped silently: it is quarantined (quarantine.go), and
// what it concerns is refused from then on.
//
// The audit index (audit.go) finds an organization's events by actor, key,
// type, project and time; its entries are read back from the log. A
// Snapshotter encodes its state canonically (snapshot.go): the encoding is
// both its snapshot, which the runner checkpoints at one sequence between
// two events (checkpoint.go), and its digest, which replay compares with a
// live server's (digest.go). KeysAsOf folds the key list of any past
// sequence or time (asof.go).
package projections
