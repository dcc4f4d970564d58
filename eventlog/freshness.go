package eventlog

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// How current a replica's fold of the log is known to be. A replica
// authenticates from its own projections; a revocation acknowledged by
// another replica counts only once it is folded here. The subscription
// that feeds the projections can go silent without an error (the server
// holding its consumer died, the stream is electing a leader), so the
// follower checks it from two sides:
//
//   - the stream's leader is asked for its last sequence every probeEvery
//     (a confirmation: everything acknowledged by then is at or below it);
//   - every replica announces the sequences it had acknowledged on a core
//     NATS subject (announce.go), which reaches the others in a millisecond
//     and needs no stream leader.
//
// A sequence known to exist but not applied is a mark; while the oldest
// mark is older than behindGrace the replica knows it is behind, and while
// no confirmation was applied within MaxStaleness it cannot vouch for its
// index. Check turns either into a refusal (fail closed).

const (
	// behindGrace is how long an event known to be in the log may stay
	// unapplied before the replica refuses to authenticate: the follower
	// fetches it itself after fillGrace, so only a log that cannot serve
	// it at all (a leader that died right after acknowledging it) gets
	// this far. Well under the 250 ms within which a revocation must hold
	// everywhere.
	behindGrace = 150 * time.Millisecond
	// maxMarks bounds the marks kept; past it the newest two merge (the
	// merged mark keeps the older time: it errs towards refusing).
	maxMarks = 1024
)

// Freshness is what a replica knows of how current its fold is.
type Freshness struct {
	// Applied is the last sequence the subscription delivered.
	Applied uint64 `json:"applied_seq"`
	// Known is the highest sequence known to be in the log.
	Known uint64 `json:"known_seq"`
	// ConfirmedAt is when the stream leader last named a last sequence
	// that has been applied since: the index was current then. Zero: never.
	ConfirmedAt time.Time `json:"confirmed_at"`
	// BehindSince is since when the oldest sequence known to exist and
	// not applied has been known; zero when none is.
	BehindSince time.Time `json:"behind_since,omitzero"`
}

// Staleness is how long ago the index was last confirmed current (now
// minus ConfirmedAt; forever when never).
func (f Freshness) Staleness(now time.Time) time.Duration {
	if f.ConfirmedAt.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return max(0, now.Sub(f.ConfirmedAt))
}

// Behind is how long the oldest known, unapplied event has waited (0 when
// none).
func (f Freshness) Behind(now time.Time) time.Duration {
	if f.BehindSince.IsZero() {
		return 0
	}
	return max(0, now.Sub(f.BehindSince))
}

// Check refuses (unavailable, with Retry-After) a fold that is known to be
// behind the log, or that was not confirmed current within maxStaleness.
// maxStaleness 0 never refuses: the index serves as last known.
func (f Freshness) Check(now time.Time, maxStaleness time.Duration) error {
	if maxStaleness <= 0 {
		return nil
	}
	if b := f.Behind(now); b > behindGrace {
		return stale(fmt.Sprintf("this replica has not applied %d event(s) acknowledged in the log for %v", f.Known-f.Applied, b.Round(time.Millisecond)))
	}
	if s := f.Staleness(now); s > maxStaleness {
		what := "never"
		if !f.ConfirmedAt.IsZero() {
			what = s.Round(time.Millisecond).String() + " ago"
		}
		return stale(fmt.Sprintf("the event stream's leader last confirmed this replica current %s (max staleness %v)", what, maxStaleness))
	}
	return nil
}

func stale(reason string) error {
	return &domain.Error{Kind: domain.KindUnavailable, Op: "authenticate", RetryAfter: time.Second,
		Reason: "cannot authenticate from an index that may be stale: " + reason + "; retry later or on another replica"}
}

// mark is a run of sequences known to be in the log and not applied yet,
// up to seq. since is when the first of them became known; confirm, when
// not zero, is a leader's confirmation that holds once seq is applied.
type mark struct {
	seq     uint64
	since   time.Time
	confirm time.Time
}

// freshness tracks Freshness for the log's subscription. Writers hold mu;
// readers (every authentication) read what the last writer published, with
// no lock.
type freshness struct {
	mu      sync.Mutex
	applied uint64
	confirm time.Time
	marks   []mark // ascending seq

	pub struct {
		applied, known  atomic.Uint64
		confirm, behind atomic.Int64 // unix nanoseconds, 0: none
	}
}

// publish makes the state readable by snapshot; mu is held.
func (f *freshness) publish() {
	f.pub.applied.Store(f.applied)
	known := f.applied // the highest sequence known: the last mark's, if any
	if n := len(f.marks); n > 0 {
		known = max(known, f.marks[n-1].seq)
	}
	f.pub.known.Store(known)
	f.pub.confirm.Store(nanos(f.confirm))
	var since time.Time
	if len(f.marks) > 0 {
		since = f.marks[0].since
	}
	f.pub.behind.Store(nanos(since))
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// advance records that every sequence up to seq is applied.
func (f *freshness) advance(seq uint64) {
	if seq <= f.pub.applied.Load() {
		return // the common case for a second deliverer: no lock
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.publish()
	if seq <= f.applied {
		return
	}
	f.applied = seq
	i := 0
	for ; i < len(f.marks) && f.marks[i].seq <= seq; i++ {
		if f.marks[i].confirm.After(f.confirm) {
			f.confirm = f.marks[i].confirm
		}
	}
	f.marks = append(f.marks[:0], f.marks[i:]...)
}

// learn records that the log held seq at time at. confirms says seq was the
// stream leader's last sequence then: once it is applied, the fold was
// current at at.
func (f *freshness) learn(seq uint64, at time.Time, confirms bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.publish()
	var confirm time.Time
	if confirms {
		confirm = at
		f.dropContradicted(seq, at) // only a leader with its quorum contradicts
	}
	if seq <= f.applied {
		if confirm.After(f.confirm) {
			f.confirm = confirm
		}
		return
	}
	for i := range f.marks {
		if f.marks[i].seq >= seq {
			// Covered by a mark of its own or a later one: the
			// confirmation waits for that one (it errs late).
			if confirm.After(f.marks[i].confirm) {
				f.marks[i].confirm = confirm
			}
			return
		}
	}
	f.marks = append(f.marks, mark{seq: seq, since: at, confirm: confirm})
	if n := len(f.marks); n > maxMarks {
		last, prev := f.marks[n-1], &f.marks[n-2]
		prev.seq = last.seq
		if last.confirm.After(prev.confirm) {
			prev.confirm = last.confirm
		}
		f.marks = f.marks[:n-1]
	}
}

// dropContradicted forgets the marks past last that a leader with a quorum
// contradicts: it named last as the stream's last sequence at at, more
// than peerSilence after they became known. An announcement of a sequence
// that was never written (a rogue publisher, writes lost by a relaxed
// fsync) would otherwise refuse authentication for good. Any sooner would
// fail open: a leader cut off from the others answers for up to
// peerSilence while they elect another and write on.
func (f *freshness) dropContradicted(last uint64, at time.Time) {
	keep := f.marks[:0]
	for _, m := range f.marks {
		if m.seq <= last || !m.since.Before(at.Add(-peerSilence)) {
			keep = append(keep, m)
		}
	}
	f.marks = keep
}

// snapshot is the Freshness the last change published.
func (f *freshness) snapshot() Freshness {
	// A publish between the two loads can pair a new applied with the old
	// known: Known is never below Applied for any reader.
	applied := f.pub.applied.Load()
	return Freshness{Applied: applied, Known: max(f.pub.known.Load(), applied),
		ConfirmedAt: fromNanos(f.pub.confirm.Load()), BehindSince: fromNanos(f.pub.behind.Load())}
}
