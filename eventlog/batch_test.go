package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func req(apps ...Append) *request {
	return &request{ctx: context.Background(), apps: apps, done: make(chan result, 1)}
}

func TestABatchFailsOnlyTheConflictingCommand(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	if _, err := l.Append(ctx, Append{Event: keyEvent("seed", "taken", domain.KeyInvalidated{}), Expect: 0}); err != nil {
		t.Fatal(err)
	}
	var batch []*request
	for i := 0; i < 20; i++ {
		batch = append(batch, req(Append{Event: keyEvent(fmt.Sprint("ok", i), fmt.Sprint("k", i), domain.KeyInvalidated{}), Expect: 0}))
	}
	loser := req(Append{Event: keyEvent("stale", "taken", domain.KeyInvalidated{}), Expect: 0})
	batch = append(batch[:7], append([]*request{loser}, batch[7:]...)...)
	l.commit.commit(batch)
	for i, r := range batch {
		res := <-r.done
		if r == loser {
			if !domain.IsKind(res.err, domain.KindConflict) {
				t.Fatalf("the stale command got %v, want a conflict", res.err)
			}
			continue
		}
		if res.err != nil || len(res.seqs) != 1 {
			t.Fatalf("command %d failed for another's conflict: %v", i, res.err)
		}
	}
	last, _ := l.LastSeq(ctx)
	if last != 21 {
		t.Fatalf("last sequence %d, want 21 (seed + 20)", last)
	}
}

func TestAMultiEventCommandIsAtomic(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	if _, err := l.Append(ctx, Append{Event: keyEvent("seed", "b", domain.KeyInvalidated{}), Expect: 0}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Append(ctx,
		Append{Event: keyEvent("a1", "a", domain.KeyInvalidated{}), Expect: 0},
		Append{Event: keyEvent("b1", "b", domain.KeyInvalidated{}), Expect: 0}) // stale: b exists
	if !domain.IsKind(err, domain.KindConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if ev, _ := l.Last(ctx, SubjectOf("t1", domain.AggKey, "a")); ev != nil {
		t.Fatal("half of a failed command was stored")
	}
	seqs, err := l.Append(ctx,
		Append{Event: keyEvent("a2", "a", domain.KeyInvalidated{}), Expect: 0},
		Append{Event: keyEvent("b2", "b", domain.KeyInvalidated{}), Expect: 1})
	if err != nil || len(seqs) != 2 || seqs[1] != seqs[0]+1 {
		t.Fatalf("seqs %v err %v", seqs, err)
	}
}

func TestCommandsOnOneAggregateKeepTheirOrder(t *testing.T) {
	a1 := req(Append{Event: keyEvent("1", "a", domain.KeyInvalidated{})})
	b1 := req(Append{Event: keyEvent("2", "b", domain.KeyInvalidated{})})
	a2 := req(Append{Event: keyEvent("3", "a", domain.KeyInvalidated{})})
	c1 := req(Append{Event: keyEvent("4", "c", domain.KeyInvalidated{})})
	a3 := req(Append{Event: keyEvent("5", "a", domain.KeyInvalidated{})})
	batch, rest := split([]*request{a1, b1, a2, c1, a3}, noneBusy)
	if len(batch) != 3 || batch[0] != a1 || batch[1] != b1 || batch[2] != c1 {
		t.Fatalf("batch %v", batch)
	}
	if len(rest) != 2 || rest[0] != a2 || rest[1] != a3 {
		t.Fatalf("rest %v", rest)
	}
	batch, rest = split(rest, noneBusy)
	if len(batch) != 1 || batch[0] != a2 || len(rest) != 1 || rest[0] != a3 {
		t.Fatal("the second command on a subject must go before the third")
	}
}

func TestARetryAfterTheDedupWindowIsNotAConflict(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	ev := keyEvent("cmd-1", "k", domain.KeyInvalidated{})
	// The first attempt is stored without a message id: to the server's
	// deduplication the retry is new, as it is once the window has passed.
	data, _ := json.Marshal(ev)
	ack, err := l.js.Publish(ctx, Subject(ev), data)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := l.appendOne(ctx, Append{Event: ev, Expect: 0})
	if err != nil || seq != ack.Sequence {
		t.Fatalf("retry: seq %d err %v, want %d", seq, err, ack.Sequence)
	}
	last, _ := l.LastSeq(ctx)
	if last != ack.Sequence {
		t.Fatal("the retry was stored twice")
	}
}

func TestConcurrentCommandsAllLand(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := l.Append(ctx, Append{Event: keyEvent(fmt.Sprint(i), fmt.Sprint("k", i), domain.KeyInvalidated{}), Expect: 0})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if last, _ := l.LastSeq(ctx); last != 200 {
		t.Fatalf("last %d, want 200", last)
	}
}

// lostAnswer is a publish whose acknowledgement never arrives.
type lostAnswer struct{ m *nats.Msg }

func (f lostAnswer) Ok() <-chan *jetstream.PubAck { return nil }
func (f lostAnswer) Err() <-chan error            { return nil }
func (f lostAnswer) Msg() *nats.Msg               { return f.m }

func TestATimedOutPublishIsResolvedFromTheSubject(t *testing.T) {
	l := openTest(t)
	l.ackWait = 50 * time.Millisecond
	ctx := context.Background()
	stored := keyEvent("stored", "k1", domain.KeyInvalidated{})
	seqs, err := l.Append(ctx, Append{Event: stored, Expect: 0})
	if err != nil {
		t.Fatal(err)
	}
	// The event was stored but its answer was lost: no retry, no conflict.
	seq, err := l.awaitAck(ctx, Append{Event: stored, Expect: 0}, lostAnswer{}, nil)
	if err != nil || seq != seqs[0] {
		t.Fatalf("stored event: seq %d err %v, want %d", seq, err, seqs[0])
	}
	// The event was never stored: the retry stores it, once.
	fresh := keyEvent("fresh", "k2", domain.KeyInvalidated{})
	seq, err = l.awaitAck(ctx, Append{Event: fresh, Expect: 0}, lostAnswer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := l.Last(ctx, Subject(fresh)); last == nil || last.ID != "fresh" || last.Seq != seq {
		t.Fatalf("retried event not stored as last: %+v", last)
	}
	if n, _ := l.LastSeq(ctx); n != seqs[0]+1 {
		t.Fatalf("stream holds %d events, want %d", n, seqs[0]+1)
	}
}

func noneBusy(string) bool { return false }

func TestSplitHoldsCommandsOnSubjectsInFlight(t *testing.T) {
	a1 := req(Append{Event: keyEvent("1", "a", domain.KeyInvalidated{})})
	b1 := req(Append{Event: keyEvent("2", "b", domain.KeyInvalidated{})})
	busy := func(subject string) bool { return subject == Subject(a1.apps[0].Event) }
	batch, rest := split([]*request{a1, b1}, busy)
	if len(batch) != 1 || batch[0] != b1 || len(rest) != 1 || rest[0] != a1 {
		t.Fatalf("batch %v rest %v: a command on a subject in flight must wait", batch, rest)
	}
}

// TestPipelinedRoundsKeepEachAggregatesOrder queues commands on ten
// aggregates, five each, interleaved, straight into the committer (so the
// order they were queued in is known), and checks that every aggregate's
// events are stored in that order while rounds overlap in flight.
func TestPipelinedRoundsKeepEachAggregatesOrder(t *testing.T) {
	l := openTest(t)
	ctx := context.Background()
	var reqs []*request
	for n := range 5 {
		for agg := range 10 {
			r := req(Append{Event: keyEvent(fmt.Sprintf("k%d-%d", agg, n), fmt.Sprint("k", agg), domain.KeyInvalidated{}), AnySeq: true})
			r.at = time.Now()
			reqs = append(reqs, r)
			l.commit.in <- r
		}
	}
	for _, r := range reqs {
		if res := <-r.done; res.err != nil {
			t.Fatal(res.err)
		}
	}
	for agg := range 10 {
		var got []string
		err := l.ReadRange(ctx, Range{Subject: Subject(keyEvent("", fmt.Sprint("k", agg), domain.KeyInvalidated{}))}, func(ev domain.Event) error {
			got = append(got, ev.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for n, id := range got {
			if want := fmt.Sprintf("k%d-%d", agg, n); id != want {
				t.Fatalf("aggregate k%d: events %v, want them in the order queued", agg, got)
			}
		}
		if len(got) != 5 {
			t.Fatalf("aggregate k%d: %d events, want 5", agg, len(got))
		}
	}
}

// TestALostAnswerDoesNotHoldUpTheCommandsBehindIt hands the acker a round
// whose first publish never gets its answer (its server died with it in
// flight): the command behind it is answered while the lost one is still
// being resolved, and the lost one is then resolved by publishing again.
func TestALostAnswerDoesNotHoldUpTheCommandsBehindIt(t *testing.T) {
	l := openTest(t)
	l.ackWait = 3 * time.Second
	lost := req(Append{Event: keyEvent("lost", "k1", domain.KeyInvalidated{}), Expect: 0})
	behind := req(Append{Event: keyEvent("behind", "k2", domain.KeyInvalidated{}), Expect: 0})
	ack, err := l.publishAsync(behind.apps[0])
	if err != nil {
		t.Fatal(err)
	}
	l.commit.acks <- []pending{{r: lost, ack: lostAnswer{}}, {r: behind, ack: ack}}
	select {
	case res := <-behind.done:
		if res.err != nil {
			t.Fatalf("command behind the lost answer: %v", res.err)
		}
	case res := <-lost.done:
		t.Fatalf("the lost answer was resolved (%v) before the command behind it was answered", res.err)
	}
	if res := <-lost.done; res.err != nil {
		t.Fatalf("lost answer not resolved by publishing again: %v", res.err)
	}
}

// TestManyLostAnswersDoNotHoldUpTheCommandBehindThem hands the acker a
// round whose first twenty publishes never get their answers (a stream
// leader died with them in flight): the command behind them must not wait
// ackPatience for each of them in turn (twenty times 200 ms), but at most
// about once for the round.
func TestManyLostAnswersDoNotHoldUpTheCommandBehindThem(t *testing.T) {
	l := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var round []pending
	for i := range 20 {
		lost := req(Append{Event: keyEvent(fmt.Sprint("lost", i), fmt.Sprint("l", i), domain.KeyInvalidated{}), Expect: 0})
		lost.ctx = ctx // ended by the test: the lost ones then answer 503
		round = append(round, pending{r: lost, ack: lostAnswer{}})
	}
	behind := req(Append{Event: keyEvent("behind", "b", domain.KeyInvalidated{}), Expect: 0})
	ack, err := l.publishAsync(behind.apps[0])
	if err != nil {
		t.Fatal(err)
	}
	round = append(round, pending{r: behind, ack: ack})
	l.commit.acks <- round
	select {
	case res := <-behind.done:
		if res.err != nil {
			t.Fatalf("command behind the lost answers: %v", res.err)
		}
	case <-time.After(5 * ackPatience):
		t.Fatalf("command behind 20 lost answers not answered within %v: each lost one was waited for in turn", 5*ackPatience)
	}
}
