package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Group commit. With fsync before every acknowledgement a lone publish costs
// a disk flush; commands that arrive while one flush is under way are
// gathered and written together as one JetStream atomic batch, which the
// server stores and fsyncs once. A lone command is never delayed: the
// committer takes whatever is queued when it is free, and waits for nothing.
//
// Every event keeps its own expected last subject sequence, so optimistic
// concurrency is checked exactly as for single publishes (the server checks
// a batch's later messages against its earlier ones). A batch is atomic: one
// stale command fails all of it. The committer then splits the batch in
// halves and retries each, until only the offending commands fail: log2(n)
// extra round trips for one conflict, and no command fails for another's.

const (
	// maxBatchEvents bounds one atomic batch (the server allows 1000).
	maxBatchEvents = 100
	// minAtomicBatch: below this many events, single-event commands are
	// published one by one (pipelined). On a single node with file storage
	// the server stages every atomic batch in a fresh file store, a fixed
	// cost of several milliseconds that only pays off for large batches
	// (see BenchmarkPublishBatch).
	minAtomicBatch = 24
	// batchTimeout bounds one commit round trip. An answer that does not
	// come is resolved by reading the subject's last event (and, for a
	// single publish, by publishing again under the same message id), so
	// the bound is short: a stream leader that died with a batch in flight
	// stalls the commands queued behind it for that long, and a new leader
	// is elected in seconds (commands resume within this bound of it).
	batchTimeout = time.Second
	// ackPatience is how long the acker waits for one pipelined answer
	// before it waits for it on its own (acker).
	ackPatience = 200 * time.Millisecond
)

type request struct {
	ctx  context.Context
	apps []Append
	done chan result
	// at is when the command was queued: one that waited through a whole
	// commit tells the committer of a client that was not in that round.
	at time.Time
}

type result struct {
	seqs []uint64
	err  error
}

type committer struct {
	l    *Log
	in   chan *request
	stop chan struct{}
	done chan struct{}

	// A pipelined round is published, then handed to the acker, which
	// waits for its acknowledgements and answers its commands while the
	// next round is gathered and published: the server never idles between
	// rounds. acks holds one round besides the one being answered; a full
	// acks holds the committer up, so queued commands pile up into an
	// atomic batch instead.
	acks      chan []pending
	answered  chan struct{} // a round was answered (its subjects are free)
	ackerDone chan struct{}
	inflight  inflight

	closeOnce sync.Once
}

func newCommitter(l *Log) *committer {
	c := &committer{l: l, in: make(chan *request, 4*maxBatchEvents), stop: make(chan struct{}), done: make(chan struct{}),
		acks: make(chan []pending, 1), answered: make(chan struct{}, 1), ackerDone: make(chan struct{})}
	go c.acker()
	go c.run()
	return c
}

// inflight is the subjects of pipelined commands not answered yet. A
// command on one of them waits for a later round, as a second command on a
// subject in one round does (see split).
type inflight struct {
	mu       sync.Mutex
	subjects map[string]bool
}

func (f *inflight) has(subject string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subjects[subject]
}

func (f *inflight) set(subject string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subjects == nil {
		f.subjects = map[string]bool{}
	}
	if on {
		f.subjects[subject] = true
	} else {
		delete(f.subjects, subject)
	}
}

// submit queues apps as one command and waits for its outcome.
func (c *committer) submit(ctx context.Context, apps []Append) ([]uint64, error) {
	r := &request{ctx: ctx, apps: apps, done: make(chan result, 1), at: time.Now()}
	select {
	case c.in <- r:
	case <-ctx.Done():
		return nil, unavailable("append", ctx.Err())
	case <-c.stop:
		return nil, unavailable("append", errors.New("event log closed"))
	}
	// Once queued the command will be decided; wait for the outcome even if
	// the caller gives up, so that a write is never left unknown to it.
	res := <-r.done
	return res.seqs, res.err
}

func (c *committer) close() {
	c.closeOnce.Do(func() { close(c.stop) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	defer func() { close(c.acks); <-c.ackerDone }()
	var carry []*request
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	var (
		lastRound int           // commands in the previous round
		lastCost  time.Duration // how long its commit took
		lastEnd   time.Time     // when it ended
	)
	for {
		if len(carry) == 0 {
			select {
			case r := <-c.in:
				carry = append(carry, r)
			case <-c.stop:
				c.failQueued()
				return
			}
		}
		carry = c.gather(carry, lastRound, lastEnd, gatherWait(lastCost), wait)
		var batch []*request
		batch, carry = split(carry, c.inflight.has)
		if len(batch) == 0 {
			// Everything queued is on subjects still in flight; the acker
			// frees them within its bounded wait for their answers.
			select {
			case <-c.answered:
			case r := <-c.in:
				carry = append(carry, r)
			}
			continue
		}
		t0 := time.Now()
		pipelined := c.commit(batch)
		lastEnd = time.Now()
		lastRound, lastCost = len(batch), lastEnd.Sub(t0)
		if pipelined {
			// Its clients are answered later, by the acker: nobody to wait for.
			lastCost = 0
		}
	}
}

// maxGatherWait bounds how long a round waits for the previous round's
// clients to come back.
const maxGatherWait = time.Millisecond

// gatherWait is how long a round may wait for stragglers after a commit
// that took cost: a quarter of it, so waiting never costs more than a
// quarter of the throughput it is meant to win.
func gatherWait(cost time.Duration) time.Duration {
	return min(cost/4, maxGatherWait)
}

// gather adds what is queued to carry, then waits up to patience for the
// clients the previous round just answered: they are about to send their
// next command, and a batch's cost is mostly fixed, so taking them now
// rather than in a round of their own is what lets throughput grow with the
// clients. It expects as many commands as the previous round held plus
// those that waited through its commit (queued before lastEnd): the number
// of clients busy lately. A lone client (a round of one, nobody waiting)
// never waits.
func (c *committer) gather(carry []*request, lastRound int, lastEnd time.Time, patience time.Duration, wait *time.Timer) []*request {
	take := func() {
		for len(carry) < maxBatchEvents {
			select {
			case r := <-c.in:
				carry = append(carry, r)
			default:
				return
			}
		}
	}
	take()
	want := lastRound
	for _, r := range carry {
		if r.at.Before(lastEnd) {
			want++
		}
	}
	want = min(want, maxBatchEvents)
	if len(carry) >= want || patience <= 0 {
		return carry
	}
	wait.Reset(patience)
	defer wait.Stop()
	for len(carry) < want {
		select {
		case r := <-c.in:
			carry = append(carry, r)
			take()
		case <-wait.C:
			return carry
		case <-c.stop:
			return carry
		}
	}
	return carry
}

// split takes from queue the next batch: up to maxBatchEvents events, and at
// most one command per subject. A second command on a subject waits for the
// next batch, after the first is applied: it keeps its order, and it is not
// bound to conflict with the first inside one atomic batch.
//
// busy tells of subjects taken outside the queue (pipelined commands not
// answered yet): a command on one of them waits as well.
func split(queue []*request, busy func(subject string) bool) (batch, rest []*request) {
	subjects := map[string]bool{}
	n := 0
	for _, r := range queue {
		clash := false
		for _, a := range r.apps {
			if subjects[Subject(a.Event)] || busy(Subject(a.Event)) {
				clash = true
			}
		}
		if clash || (n > 0 && n+len(r.apps) > maxBatchEvents) {
			// Everything after a deferred command on its subjects must wait too.
			for _, a := range r.apps {
				subjects[Subject(a.Event)] = true
			}
			rest = append(rest, r)
			continue
		}
		for _, a := range r.apps {
			subjects[Subject(a.Event)] = true
		}
		batch = append(batch, r)
		n += len(r.apps)
	}
	return batch, rest
}

func (c *committer) failQueued() {
	for {
		select {
		case r := <-c.in:
			r.done <- result{err: unavailable("append", errors.New("event log closed"))}
		default:
			return
		}
	}
}

// commit writes the commands of batch, in order, and answers each. It
// reports whether it pipelined them: then the acker answers them, later.
func (c *committer) commit(batch []*request) (pipelined bool) {
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.done <- result{err: unavailable("append", r.ctx.Err())}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return false
	}
	events := 0
	for _, r := range live {
		events += len(r.apps)
	}
	if events < minAtomicBatch && len(live) > 1 || len(live) == 1 && len(live[0].apps) == 1 {
		c.pipeline(live)
		return true
	}
	var all []Append
	for _, r := range live {
		all = append(all, r.apps...)
	}
	seqs, err := c.l.publishBatch(all)
	if err == nil {
		for _, r := range live {
			r.done <- result{seqs: seqs[:len(r.apps)]}
			seqs = seqs[len(r.apps):]
		}
		return false
	}
	var rej *batchRejected
	if !errors.As(err, &rej) || len(live) == 1 {
		if rej != nil {
			err = rej.domainErr()
		}
		for _, r := range live {
			r.done <- result{err: err}
		}
		return false
	}
	mid := len(live) / 2
	c.commit(live[:mid])
	c.commit(live[mid:])
	return false
}

// pending is a pipelined command waiting for its acknowledgement.
type pending struct {
	r   *request
	ack jetstream.PubAckFuture
	err error
}

// pipeline publishes each single-event command without waiting for the
// previous answer, and hands them to the acker: one round trip for all.
// Commands with several events go alone, as atomic batches.
func (c *committer) pipeline(live []*request) {
	var ps []pending
	for _, r := range live {
		if len(r.apps) != 1 {
			c.commitAtomic(r)
			continue
		}
		c.inflight.set(Subject(r.apps[0].Event), true)
		ack, err := c.l.publishAsync(r.apps[0])
		ps = append(ps, pending{r: r, ack: ack, err: err})
	}
	if len(ps) > 0 {
		c.acks <- ps
	}
}

// acker answers the pipelined rounds, in the order they were published.
// An answer that does not come within ackPatience (a server died with the
// publish in flight) is waited for on its own: the commands behind it are
// answered meanwhile, and its subject stays taken until it is.
func (c *committer) acker() {
	defer close(c.ackerDone)
	var late sync.WaitGroup
	defer late.Wait()
	for ps := range c.acks {
		// One patience for the whole round, which was published at once:
		// a leader that died with it in flight loses every answer, and
		// waiting ackPatience for each in turn held the commands behind
		// them for ackPatience times the round's size.
		patience := time.Now().Add(ackPatience)
		for _, p := range ps {
			var first *ackAnswer
			if p.err == nil {
				var ok bool
				if first, ok = answerWithin(p.ack, time.Until(patience)); !ok {
					late.Go(func() {
						c.answer(p, nil)
						c.freed()
					})
					continue
				}
			}
			c.answer(p, first)
		}
		c.freed()
	}
}

// answer waits for p's acknowledgement (unless first is it) and answers
// its command.
func (c *committer) answer(p pending, first *ackAnswer) {
	var res result
	if p.err != nil {
		res.err = unavailable("append", p.err)
	} else {
		seq, err := c.l.awaitAck(p.r.ctx, p.r.apps[0], p.ack, first)
		res = result{seqs: []uint64{seq}, err: err}
	}
	// Free the subject first: its client may send the next command on it
	// as soon as it has the answer.
	c.inflight.set(Subject(p.r.apps[0].Event), false)
	p.r.done <- res
}

// freed tells the committer that subjects were freed.
func (c *committer) freed() {
	select {
	case c.answered <- struct{}{}:
	default:
	}
}

func (c *committer) commitAtomic(r *request) {
	seqs, err := c.l.publishBatch(r.apps)
	var rej *batchRejected
	if errors.As(err, &rej) {
		err = rej.domainErr()
	}
	r.done <- result{seqs: seqs, err: err}
}

// batchRejected is the server refusing a batch (a conflict, most likely).
type batchRejected struct {
	code        int
	description string
}

func (e *batchRejected) Error() string {
	return fmt.Sprintf("batch rejected: %s (%d)", e.description, e.code)
}

func (e *batchRejected) domainErr() error {
	if e.code == int(jetstream.JSErrCodeStreamWrongLastSequence) || e.code == int(jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return errConflict
	}
	return unavailable("append", e)
}

// publishBatch writes apps as one atomic batch and returns their sequences.
func (l *Log) publishBatch(apps []Append) ([]uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.batchWait(len(apps)))
	defer cancel()
	id := uuid.NewString()
	var last *nats.Msg
	for i, a := range apps {
		data, err := a.encoded()
		if err != nil {
			return nil, err
		}
		m := nats.NewMsg(Subject(a.Event))
		m.Data = data
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		m.Header.Set(jetstream.MsgIDHeader, a.Event.ID)
		if !a.AnySeq {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(a.Expect, 10))
		}
		if i == len(apps)-1 {
			m.Header.Set("Nats-Batch-Commit", "1")
			last = m
			break
		}
		// Staged messages need no answer: the commit's answer covers them.
		if err := l.nc.PublishMsg(m); err != nil {
			return nil, unavailable("append batch", err)
		}
	}
	resp, err := l.nc.RequestMsgWithContext(ctx, last)
	if err != nil {
		// The commit may have been stored even though its answer was lost.
		if seq, ok := l.storedAsLast(context.Background(), Subject(apps[len(apps)-1].Event), apps[len(apps)-1].Event.ID); ok {
			return contiguous(seq, len(apps)), nil
		}
		return nil, unavailable("append batch", err)
	}
	var ack struct {
		Seq   uint64 `json:"seq"`
		Count int    `json:"count"`
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return nil, unavailable("append batch", err)
	}
	if ack.Error != nil {
		return nil, &batchRejected{code: ack.Error.ErrCode, description: ack.Error.Description}
	}
	if ack.Count != len(apps) {
		return nil, unavailable("append batch", fmt.Errorf("batch of %d acknowledged as %d", len(apps), ack.Count))
	}
	return contiguous(ack.Seq, len(apps)), nil
}

// batchWait bounds the round trip of an atomic batch of n events: the ack
// bound, and 2 ms more per event, for a bulk of a thousand keys stored and
// replicated under load. Past it the batch is looked for once and, not
// found, answered 503 although it may still land.
func (l *Log) batchWait(n int) time.Duration {
	return l.ackTimeout() + time.Duration(n)*2*time.Millisecond
}

// contiguous lists the n sequences ending at last: an atomic batch is
// stored as one run.
func contiguous(last uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = last - uint64(n-1-i)
	}
	return out
}
