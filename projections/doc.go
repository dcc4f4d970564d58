// Package projections holds the read models folded from the log: the key
// list (which is also the command side's view of each key aggregate), the
// auth index, and the runner that feeds them from one ordered subscription
// and lets a command wait until its own event has been applied
// (read-your-writes: a revoked key is refused on the very next request).
//
// Every projection records the last sequence it applied; folds are
// deterministic, so replaying the log rebuilds the same state.
package projections
