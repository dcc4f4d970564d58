package clustertest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testproc"
	"github.com/keyplane/keyplane/internal/testwait"
)

// The faults and what is promised through them (issue 22).
const (
	baselineFor = 2 * time.Second
	// downFor is how long a killed process stays down; a stream leader's
	// node stays down at least until the stream has another leader (at most
	// leaderDownMax), so that the election happens without it.
	downFor       = 4 * time.Second
	leaderDownMax = 15 * time.Second
	// window is how long a fault's window lasts at least from the kill:
	// the recovery after the restart is watched too.
	window = 10 * time.Second
	// stepDownWindow is the window of a stream leader's step down.
	stepDownWindow = 3 * time.Second
	// maxStale is how long after a revoke's acknowledgement any replica
	// may still accept the key while a quorum holds.
	maxStale = 250 * time.Millisecond
	// maxResume is how long commands may stay unacknowledged while the
	// stream has a leader (from when it has one again).
	maxResume = time.Second
)

// TestRevocationStaysImmediateThroughFaults runs, on three nats-servers
// (fsync always) and two replicas, six clients creating keys (each with its
// own Idempotency-Key, sent again to the other replica when a replica
// fails) and revoking some, and four authenticating revoked and new keys on
// both replicas, while one process at a time is killed and brought back:
// the stream leader's node (SIGKILL), each other node (SIGTERM, then
// SIGKILL; first the one serving most of the replicas' subscriptions, the
// leader asked to step down before if it served them all), replica A
// (SIGKILL). A quorum holds throughout, so:
//
//   - no replica accepts a key more than 250 ms after any replica
//     acknowledged its revoke, and the replica that acknowledged it never
//     does (401 and 503 both refuse);
//   - commands are acknowledged again within 1 s of the stream having a
//     leader (a lost acknowledgement does not hold up the others);
//   - no answer is a 5xx other than 503 with Retry-After;
//   - every acknowledged create exists exactly once afterwards.
//
// It logs, per fault, revocation staleness and creates seen late on the
// other replica (worst, p99) and how long commands went unacknowledged.
func TestRevocationStaysImmediateThroughFaults(t *testing.T) {
	s := startSetup(t, 2)
	r := newFaultRun(s, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	stopCommands, wait := r.start(ctx)
	defer func() { cancel(); wait() }()
	f := &faulting{t: t, s: s, r: r}

	f.steady()
	f.begin("0 baseline, no fault")
	f.holdUntil(f.started.Add(baselineFor))
	f.killStreamLeader()
	f.moveLeaderOffConsumers()
	first := f.killNonLeader("2a", nil, "SIGTERM", func(n *testproc.Node) { n.Stop(10 * time.Second) })
	f.killNonLeader("2b", first, "SIGKILL", (*testproc.Node).Kill)
	f.killReplica(0)
	f.end(time.Now())
	stopCommands()
	// The last keys' fate on the other replica is part of the figures.
	testwait.Until(giveUp, r.watch.idle)
	cancel()
	wait()

	figs := r.figures(f.phases)
	logFigures(t, r, figs)
	r.checkRevocations(t, f.phases)
	r.checkCommands(t, figs)
	r.checkStatuses(t)
	f.steady()
	r.checkFinal(t)
}

// faulting brings the faults one at a time, each in its window.
type faulting struct {
	t       *testing.T
	s       *setup
	r       *faultRun
	phases  []*phase
	started time.Time // the current window's
}

// phase is one fault's window: from just before it, to just before the
// next one.
type phase struct {
	name     string
	from, to time.Time
}

func (f *faulting) begin(name string) {
	f.started = time.Now()
	f.end(f.started)
	f.phases = append(f.phases, &phase{name: name, from: f.started})
	f.t.Logf("%s: %s (stream leader %s; consumers served %s)", f.r.rel(f.started), name, f.r.mon.leader(), f.r.mon.servedString())
}

func (f *faulting) end(at time.Time) {
	if n := len(f.phases); n > 0 {
		f.phases[n-1].to = at
	}
}

// holdUntil lets the workload run until at: a fault's length, not a wait
// for something to happen.
func (f *faulting) holdUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}

// steady waits until every running node is healthy, the stream has a
// leader and both replicas are ready: the cluster has recovered.
func (f *faulting) steady() {
	f.t.Helper()
	f.s.nats.WaitHealthy(f.t, 60*time.Second)
	testwait.For(f.t, 60*time.Second, "the event stream has a leader", func() bool { return f.r.mon.leader() != "" })
	for rep := range f.s.replicas {
		waitStatus(f.t, f.r.url(rep), "/readyz", "", http.StatusOK, 60*time.Second)
	}
}

func (f *faulting) node(name string) *testproc.Node {
	for _, n := range f.s.nats.Nodes {
		if n.Name == name {
			return n
		}
	}
	f.t.Fatalf("stream leader %q is not a node of the cluster", name)
	return nil
}

// killStreamLeader SIGKILLs the node leading the stream and starts it
// again once another leads it.
func (f *faulting) killStreamLeader() {
	f.steady()
	victim := f.node(f.r.mon.leader())
	f.begin(fmt.Sprintf("1 stream leader %s SIGKILL", victim.Name))
	victim.Kill()
	testwait.Until(leaderDownMax, func() bool {
		l := f.r.mon.leader()
		return l != "" && l != victim.Name
	})
	f.holdUntil(f.started.Add(downFor))
	f.restartNode(victim)
}

// moveLeaderOffConsumers asks the stream's leader to step down when it
// serves every consumer of the stream, so that the next fault can stop a
// node that serves a replica's subscription without being the leader.
func (f *faulting) moveLeaderOffConsumers() {
	f.steady()
	leader := f.r.mon.leader()
	for _, n := range f.s.nats.Nodes {
		if n.Name != leader && f.r.mon.servedBy(n.Name) > 0 || n.Name == leader && f.r.mon.servedBy(n.Name) == 0 {
			return
		}
	}
	f.begin(fmt.Sprintf("1b stream leader %s steps down", leader))
	stepDown(f.t, f.s.nats.ClientURLs())
	testwait.For(f.t, 30*time.Second, "another stream leader", func() bool {
		l := f.r.mon.leader()
		return l != "" && l != leader
	})
	f.steady()
	f.holdUntil(f.started.Add(stepDownWindow))
}

// stepDown asks the event stream's leader to hand over to another node.
func stepDown(t *testing.T, urls string) {
	t.Helper()
	nc, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	res, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+eventlog.DefaultStream, nil, 10*time.Second)
	if err != nil {
		t.Fatalf("stream leader step down: %v", err)
	}
	var out struct {
		Success bool `json:"success"`
	}
	if err := json.Unmarshal(res.Data, &out); err != nil || !out.Success {
		t.Fatalf("stream leader step down: %s", res.Data)
	}
}

// killNonLeader stops, with kill, a node that does not lead the stream,
// and starts it again. Of those, it takes one other than skip if it can,
// and the one serving most of the stream's consumers (the replicas'
// subscriptions): which replica's a consumer is, the servers do not say.
func (f *faulting) killNonLeader(label string, skip *testproc.Node, signal string, kill func(*testproc.Node)) *testproc.Node {
	f.steady()
	leader := f.r.mon.leader()
	var others, fresh []*testproc.Node
	for _, n := range f.s.nats.Nodes {
		if n.Name != leader {
			others = append(others, n)
			if n != skip {
				fresh = append(fresh, n)
			}
		}
	}
	if len(fresh) > 0 {
		others = fresh
	}
	victim := slices.MaxFunc(others, func(a, b *testproc.Node) int {
		return cmp.Compare(f.r.mon.servedBy(a.Name), f.r.mon.servedBy(b.Name))
	})
	f.begin(fmt.Sprintf("%s non-leader %s %s (%d consumers)", label, victim.Name, signal, f.r.mon.servedBy(victim.Name)))
	kill(victim)
	f.holdUntil(f.started.Add(downFor))
	f.restartNode(victim)
	return victim
}

func (f *faulting) restartNode(n *testproc.Node) {
	n.Start()
	f.t.Logf("%s: %s started again", f.r.rel(time.Now()), n.Name)
	f.steady()
	f.holdUntil(f.started.Add(window))
}

// killReplica SIGKILLs a replica and restarts it; the restarted replica
// is then asked about every key revoked so far.
func (f *faulting) killReplica(rep int) {
	f.steady()
	victim := f.s.replicas[rep]
	f.begin(fmt.Sprintf("3 replica %c SIGKILL", 'A'+rep))
	victim.Kill()
	f.holdUntil(f.started.Add(downFor))
	victim.Restart()
	f.r.setURL(rep, victim.URL())
	f.r.sweep(rep)
	f.t.Logf("%s: replica %c serves again", f.r.rel(time.Now()), 'A'+rep)
	f.steady()
	f.holdUntil(f.started.Add(window))
}

// figures are what one window measured.
type figures struct {
	*phase
	revoked int
	// stale is, per key revoked in the window, the longest a replica went
	// on accepting it after the revoke's acknowledgement; sorted.
	stale    []time.Duration
	staleN   int // keys accepted past maxStale
	accepts  int // 200s to revoked keys, requests sent after the revoke's acknowledgement
	created  int
	late     []time.Duration // create's 201 to the other replica's first 200, sorted
	lateDown int             // left out: the other replica was down meanwhile
	unseen   int             // never accepted by the other replica (time to the last try counted)
	// noAck is the longest time no command was acknowledged; noAckLed the
	// longest of that while the stream had a leader, from ledFrom.
	noAck, noAckLed time.Duration
	ledFrom, ledTo  time.Time
	noAckOn         [2]time.Duration
	leaderless      []stretch
	resume          time.Duration // longest from a leader again to the next acknowledgement
	slowest         time.Duration // longest a command took to be acknowledged
}

func (r *faultRun) figures(phases []*phase) []*figures {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.SortFunc(r.acks, func(a, b ackd) int { return a.at.Compare(b.at) })
	var out []*figures
	for _, p := range phases {
		fg := &figures{phase: p}
		r.keyFigures(fg)
		r.commandFigures(fg)
		slices.Sort(fg.stale)
		slices.Sort(fg.late)
		out = append(out, fg)
	}
	return out
}

func (p *phase) holds(t time.Time) bool { return !t.Before(p.from) && t.Before(p.to) }

func (r *faultRun) keyFigures(fg *figures) {
	for _, k := range r.keys {
		if fg.holds(k.createdAt) {
			fg.created++
			switch {
			case k.seenDown:
				fg.lateDown++
			case k.seenAt.IsZero():
				fg.unseen++
				fg.late = append(fg.late, fg.to.Sub(k.createdAt))
			default:
				fg.late = append(fg.late, k.seenAt.Sub(k.createdAt))
			}
		}
		if !k.revokedAt.IsZero() && fg.holds(k.revokedAt) {
			fg.revoked++
			worst := max(k.staleness(0), k.staleness(1))
			fg.stale = append(fg.stale, worst)
			if worst > maxStale {
				fg.staleN++
			}
			fg.accepts += k.acceptedN[0] + k.acceptedN[1]
		}
	}
}

func (r *faultRun) commandFigures(fg *figures) {
	prev, prevOn := fg.from, [2]time.Time{fg.from, fg.from}
	gap := func(to time.Time) {
		fg.noAck = max(fg.noAck, to.Sub(prev))
		if since := r.mon.leaderSince(prev, to); to.Sub(since) > fg.noAckLed {
			fg.noAckLed, fg.ledFrom, fg.ledTo = to.Sub(since), since, to
		}
	}
	for _, a := range r.acks {
		if !fg.holds(a.at) {
			continue
		}
		gap(a.at)
		fg.noAckOn[a.replica] = max(fg.noAckOn[a.replica], a.at.Sub(prevOn[a.replica]))
		fg.slowest = max(fg.slowest, a.at.Sub(a.sent))
		prev, prevOn[a.replica] = a.at, a.at
	}
	gap(fg.to)
	for rep := range 2 {
		fg.noAckOn[rep] = max(fg.noAckOn[rep], fg.to.Sub(prevOn[rep]))
	}
	fg.leaderless = r.mon.leaderless(fg.from, fg.to)
	for _, l := range fg.leaderless {
		back := l.to
		if back.IsZero() {
			back = fg.to
		}
		next := fg.to
		if i, _ := slices.BinarySearchFunc(r.acks, back, func(a ackd, t time.Time) int { return a.at.Compare(t) }); i < len(r.acks) {
			next = r.acks[i].at
		}
		fg.resume = max(fg.resume, next.Sub(back))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// logFigures logs the windows' figures as two tables, and what else was
// seen: the leader's changes, the failed answers.
func logFigures(t *testing.T, r *faultRun, figs []*figures) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "window\tfrom\tto\trevoked\tstale worst\tstale p99\tkeys >250ms\t200s after revoke\tcreates\tseen late worst\tseen late p99\tnot seen\tother down\t")
	for _, fg := range figs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t\n", fg.name, r.rel(fg.from), r.rel(fg.to),
			fg.revoked, ms(last(fg.stale)), ms(percentile(fg.stale, 99)), fg.staleN, fg.accepts,
			fg.created, ms(last(fg.late)), ms(percentile(fg.late, 99)), fg.unseen, fg.lateDown)
	}
	w.Flush()
	t.Logf("revocations and creates per window (staleness: after the revoke's 200, the longest a replica still answered 200; seen late: create's 201 to the other replica's first 200):\n%s", b.String())
	b.Reset()
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "window\tno ack (any replica)\tno ack with a leader\tno ack on A\tno ack on B\tslowest command\tstream leaderless\tleader again to ack\t")
	for _, fg := range figs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", fg.name, ms(fg.noAck), ms(fg.noAckLed), ms(fg.noAckOn[0]), ms(fg.noAckOn[1]),
			ms(fg.slowest), leaderlessString(r, fg.leaderless), resumeString(fg))
	}
	w.Flush()
	t.Logf("commands per window:\n%s", b.String())
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("failed answers to commands (retried): %v", r.others)
	t.Logf("stream leader changes: %s", leaderChanges(r))
}

func last(sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
}

func leaderlessString(r *faultRun, ls []stretch) string {
	if len(ls) == 0 {
		return "-"
	}
	var parts []string
	for _, l := range ls {
		if l.to.IsZero() {
			parts = append(parts, fmt.Sprintf("from %s, no leader at the end", r.rel(l.from)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s-%s)", ms(l.to.Sub(l.from)), r.rel(l.from), r.rel(l.to)))
	}
	return strings.Join(parts, ", ")
}

func resumeString(fg *figures) string {
	if len(fg.leaderless) == 0 {
		return "-"
	}
	return ms(fg.resume)
}

func leaderChanges(r *faultRun) string {
	r.mon.mu.Lock()
	defer r.mon.mu.Unlock()
	var parts []string
	for _, c := range r.mon.changes {
		parts = append(parts, fmt.Sprintf("%s %s", r.rel(c.at), cmp.Or(c.leader, "none")))
	}
	return strings.Join(parts, ", ")
}

// checkRevocations fails, per window, for the revoked keys a replica
// accepted past maxStale after the revoke's acknowledgement, or at all on
// the replica that acknowledged it; it names the worst.
func (r *faultRun) checkRevocations(t *testing.T, phases []*phase) {
	type stale struct {
		d   time.Duration
		msg string
	}
	byPhase := map[string][]stale{}
	r.mu.Lock()
	for _, k := range r.keys {
		for rep := range 2 {
			d := k.staleness(rep)
			own := rep == k.revokedOn
			if k.revokedAt.IsZero() || d == 0 || (d <= maxStale && !own) {
				continue
			}
			msg := fmt.Sprintf("%s revoked on %c at %s: %c accepted it %d times, the last request sent %s after the revoke's 200",
				k.name, 'A'+k.revokedOn, r.rel(k.revokedAt), 'A'+rep, k.acceptedN[rep], ms(d))
			if own {
				msg += " (ON THE REPLICA THAT ACKNOWLEDGED THE REVOKE)"
				d += time.Hour // listed first
			}
			name := phaseAt(phases, k.revokedAt)
			byPhase[name] = append(byPhase[name], stale{d, msg})
		}
	}
	r.mu.Unlock()
	for _, name := range append(phaseNames(phases), "after the faults") {
		list := byPhase[name]
		if len(list) == 0 {
			continue
		}
		slices.SortFunc(list, func(a, b stale) int { return cmp.Compare(b.d, a.d) })
		var msgs []string
		for _, v := range list[:min(len(list), 4)] {
			msgs = append(msgs, "  "+v.msg)
		}
		t.Errorf("%s: %d times a replica accepted a revoked key more than %v after its revoke was acknowledged (or at all on the replica that acknowledged it); the worst:\n%s",
			name, len(list), maxStale, strings.Join(msgs, "\n"))
	}
}

func phaseNames(phases []*phase) []string {
	var out []string
	for _, p := range phases {
		out = append(out, p.name)
	}
	return out
}

func phaseAt(phases []*phase, at time.Time) string {
	for _, p := range phases {
		if p.holds(at) {
			return p.name
		}
	}
	return "after the faults"
}

// checkCommands fails for every window in which no command was
// acknowledged for more than maxResume while the stream had a leader.
func (r *faultRun) checkCommands(t *testing.T, figs []*figures) {
	for _, fg := range figs {
		if fg.noAckLed > maxResume {
			t.Errorf("%s: no command acknowledged by any replica for %s (%s-%s) while the event stream had a leader (the longest gap was %s)",
				fg.name, ms(fg.noAckLed), r.rel(fg.ledFrom), r.rel(fg.ledTo), ms(fg.noAck))
		}
	}
}

// checkStatuses fails if any answer was a 5xx other than 503 with
// Retry-After.
func (r *faultRun) checkStatuses(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badN > 0 {
		t.Errorf("%d answers were a 5xx other than 503 with Retry-After:\n  %s", r.badN, strings.Join(r.bad, "\n  "))
	}
}

// checkFinal checks, with the cluster recovered, that both replicas refuse
// every revoked key, and that every acknowledged key exists exactly once
// on both (and authenticates if it was not revoked).
func (r *faultRun) checkFinal(t *testing.T) {
	r.mu.Lock()
	live, revoked := map[string]key{}, map[string]key{}
	for _, k := range r.keys {
		if k.revokedAt.IsZero() {
			live[k.name] = k.key
		} else {
			revoked[k.name] = k.key
		}
	}
	r.mu.Unlock()
	t.Logf("%d keys acknowledged, %d of them revoked", len(live)+len(revoked), len(revoked))
	var accepted []string
	testwait.Until(20*time.Second, func() bool {
		accepted = r.acceptedNow(revoked)
		return len(accepted) == 0
	})
	if len(accepted) > 0 {
		t.Errorf("20s after the run, revoked keys still accepted: %v", accepted[:min(len(accepted), 20)])
	}
	for rep := range 2 {
		url := r.url(rep)
		checkAllOnce(t, url, "faults-*", live)
		counts := keysNamed(t, url, "faults-*")
		for name := range revoked {
			if counts[name] != 1 {
				t.Errorf("%s: revoked key %s exists %d times", url, name, counts[name])
			}
		}
	}
}

// acceptedNow lists the revoked keys a replica accepts now.
func (r *faultRun) acceptedNow(revoked map[string]key) []string {
	var out []string
	for rep := range 2 {
		for name, k := range revoked {
			a, err := call(context.Background(), "GET", r.url(rep)+"/api/v1/whoami", "ApiKey "+k.encoded, nil)
			if err != nil || a.status == http.StatusOK {
				out = append(out, fmt.Sprintf("%s on %c", name, 'A'+rep))
			}
		}
	}
	return out
}
