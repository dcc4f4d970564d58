package clustertest

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testproc"
)

// The workload of TestRevocationStaysImmediateThroughFaults: what an
// operator's clients do to two replicas behind a load balancer, at a pace
// two shared cores sustain alongside five processes.
const (
	creators       = 6
	authenticators = 4
	// commandEvery paces each creator: one command (a create, or every
	// third a revoke) per tick, so that a gap in acknowledgements shows the
	// cluster, not the clients, and the authenticators keep up.
	commandEvery = 150 * time.Millisecond
	// retryWait is the pause before a failed command is sent again, to the
	// other replica.
	retryWait = 50 * time.Millisecond
	// pollEvery is how often a key is tried on a replica while its fate
	// there is what is measured (a fresh key not seen yet, a revoked key
	// not refused yet); checkedEvery once it is settled.
	pollEvery    = 20 * time.Millisecond
	checkedEvery = 100 * time.Millisecond
	// revokedWatchFor is how long a revoked key is watched at least, to catch
	// a replica that refuses it and later accepts it again; giveUp ends any
	// watch (what it measured stands as a lower bound).
	revokedWatchFor = time.Second
	giveUp          = 20 * time.Second
	// authTimeout bounds one authentication: a replica that does not answer
	// did not accept.
	authTimeout = 2 * time.Second
	// leaderPoll is how often the nodes are asked who leads the stream.
	leaderPoll = 50 * time.Millisecond
)

// tracked is one acknowledged key and what was seen of it. Guarded by
// faultRun.mu.
type tracked struct {
	key
	creator   int
	createdOn int       // replica that acknowledged the create
	createdAt time.Time // when its 201 arrived
	// seenAt is when the other replica's first 200 for it arrived;
	// seenDown that the other replica did not answer at all meanwhile
	// (killed): its delay is then not one of the log's.
	seenAt   time.Time
	seenDown bool
	// revokedOn acknowledged the revoke; revokedAt is when its 200 arrived.
	revokedOn int
	revokedAt time.Time
	// accepted is, per replica, the latest time a request was sent (after
	// revokedAt) that the replica answered 200: it accepted the revoked key
	// at least that long after the revoke was acknowledged.
	accepted  [2]time.Time
	acceptedN [2]int
}

// staleness is how long after its revoke's acknowledgement replica rep
// still accepted k (0: never).
func (k *tracked) staleness(rep int) time.Duration {
	if k.accepted[rep].IsZero() {
		return 0
	}
	return k.accepted[rep].Sub(k.revokedAt)
}

// ackd is one acknowledged command.
type ackd struct {
	sent, at time.Time
	replica  int
}

// faultRun is the workload's state: the replicas' addresses, every
// acknowledged key and command, every answer a client must never get.
type faultRun struct {
	t0 time.Time

	urlMu sync.RWMutex
	urls  []string

	mu     sync.Mutex
	keys   []*tracked
	pools  [creators][]*tracked // a creator's keys both replicas accept, to revoke
	acks   []ackd
	bad    []string // 5xx other than 503 with Retry-After
	badN   int
	others map[string]int // other failed answers, "kind on replica: status"

	watch *watchQueue
	mon   *leaderMonitor
}

func newFaultRun(s *setup, t0 time.Time) *faultRun {
	return &faultRun{t0: t0, urls: s.urls(), others: map[string]int{}, watch: newWatchQueue(), mon: &leaderMonitor{nodes: s.nats.Nodes}}
}

func (r *faultRun) url(rep int) string {
	r.urlMu.RLock()
	defer r.urlMu.RUnlock()
	return r.urls[rep]
}

func (r *faultRun) setURL(rep int, url string) {
	r.urlMu.Lock()
	r.urls[rep] = url
	r.urlMu.Unlock()
}

// rel is t as seconds since the run started, for messages.
func (r *faultRun) rel(t time.Time) string { return fmt.Sprintf("%.3fs", t.Sub(r.t0).Seconds()) }

// start runs the creators, the authenticators and the leader monitor
// until ctx ends. stopCommands stops the creators (and returns when they
// have), wait returns when all have.
func (r *faultRun) start(ctx context.Context) (stopCommands, wait func()) {
	cctx, stop := context.WithCancel(ctx)
	var cwg, wg sync.WaitGroup
	wg.Go(func() { r.mon.run(ctx) })
	for c := range creators {
		cwg.Go(func() { r.creator(cctx, c) })
	}
	for range authenticators {
		wg.Go(func() { r.authenticator(ctx) })
	}
	stopCommands = func() { stop(); cwg.Wait() }
	return stopCommands, func() { stopCommands(); wg.Wait() }
}

// creator sends one command per tick: mostly creates, every third a revoke
// of one of its keys both replicas know (else a create).
func (r *faultRun) creator(ctx context.Context, c int) {
	pause(ctx, time.Duration(c)*commandEvery/creators) // spread over the tick
	tick := time.NewTicker(commandEvery)
	defer tick.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		if k := r.revocable(c, i); k != nil {
			r.revoke(ctx, k)
		} else {
			r.create(ctx, c, keyName(fmt.Sprintf("faults-%d", c), i))
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

func (r *faultRun) revocable(c, i int) *tracked {
	if i%3 != 2 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pools[c]) == 0 {
		return nil
	}
	k := r.pools[c][0]
	r.pools[c] = r.pools[c][1:]
	return k
}

// create sends a create to the creator's replica, and on any failure the
// same create (same Idempotency-Key) to the other, until one acknowledges.
func (r *faultRun) create(ctx context.Context, c int, name string) {
	for try := 0; ctx.Err() == nil; try++ {
		rep := (c + try) % 2
		sent := time.Now()
		k, a, err := create(ctx, r.url(rep), name)
		if err == nil && a.status == http.StatusCreated && k.id != "" && k.encoded != "" {
			r.created(&tracked{key: k, creator: c, createdOn: rep, createdAt: time.Now(), revokedOn: -1}, sent)
			return
		}
		r.failed(ctx, "create", rep, a, err)
		pause(ctx, retryWait)
	}
}

func (r *faultRun) created(k *tracked, sent time.Time) {
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.acks = append(r.acks, ackd{sent: sent, at: k.createdAt, replica: k.createdOn})
	r.mu.Unlock()
	r.watch.push(&target{k: k, replica: 1 - k.createdOn, kind: watchFresh, due: k.createdAt})
}

// revoke sends DELETE to the replica that created k, and on any failure to
// the other, until one acknowledges.
func (r *faultRun) revoke(ctx context.Context, k *tracked) {
	for try := 0; ctx.Err() == nil; try++ {
		rep := (k.createdOn + try) % 2
		sent := time.Now()
		a, err := call(ctx, "DELETE", r.url(rep)+keysPath+"/"+k.id, ownerAuth, nil)
		if err == nil && a.status == http.StatusOK {
			r.revoked(k, rep, sent, time.Now())
			return
		}
		r.failed(ctx, "revoke", rep, a, err)
		pause(ctx, retryWait)
	}
}

func (r *faultRun) revoked(k *tracked, rep int, sent, at time.Time) {
	r.mu.Lock()
	k.revokedOn, k.revokedAt = rep, at
	r.acks = append(r.acks, ackd{sent: sent, at: at, replica: rep})
	r.mu.Unlock()
	for other := range 2 {
		r.watch.push(&target{k: k, replica: other, kind: watchRevoked, due: at})
	}
}

// sweep checks every key revoked so far once on replica rep (just
// restarted): it must refuse them all.
func (r *faultRun) sweep(rep int) {
	r.mu.Lock()
	var revoked []*tracked
	for _, k := range r.keys {
		if !k.revokedAt.IsZero() {
			revoked = append(revoked, k)
		}
	}
	r.mu.Unlock()
	now := time.Now()
	for _, k := range revoked {
		r.watch.push(&target{k: k, replica: rep, kind: watchOnce, due: now})
	}
}

// failed records an answer that was not an acknowledgement (a transport
// failure has no status; one because the run ended is no answer at all).
func (r *faultRun) failed(ctx context.Context, kind string, rep int, a answer, err error) {
	if ctx.Err() != nil {
		return
	}
	status := "no answer"
	if err == nil {
		r.checkStatus(kind, rep, a)
		status = fmt.Sprint(a.status)
	}
	r.mu.Lock()
	r.others[fmt.Sprintf("%s on %c: %s", kind, 'A'+rep, status)]++
	r.mu.Unlock()
}

// checkStatus records a 5xx other than 503 with Retry-After: a client is
// never to see one.
func (r *faultRun) checkStatus(kind string, rep int, a answer) {
	if a.status < 500 || (a.status == http.StatusServiceUnavailable && a.retryAfter != "") {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.badN++
	if len(r.bad) < 10 {
		r.bad = append(r.bad, fmt.Sprintf("%s on %c at %s: %d (Retry-After %q) %.200s", kind, 'A'+rep, r.rel(time.Now()), a.status, a.retryAfter, a.raw))
	}
}

// authenticator tries keys on replicas as the watch queue hands them out.
func (r *faultRun) authenticator(ctx context.Context) {
	for {
		tg := r.watch.next(ctx)
		if tg == nil {
			return
		}
		r.authenticate(ctx, tg)
	}
}

func (r *faultRun) authenticate(ctx context.Context, tg *target) {
	sent := time.Now()
	actx, cancel := context.WithTimeout(ctx, authTimeout)
	a, err := call(actx, "GET", r.url(tg.replica)+"/api/v1/whoami", "ApiKey "+tg.k.encoded, nil)
	cancel()
	got := time.Now()
	if ctx.Err() != nil {
		r.watch.finish()
		return
	}
	status := 0 // no answer
	if err == nil {
		status = a.status
		r.checkStatus("authenticate", tg.replica, a)
	}
	var again bool
	if tg.kind == watchFresh {
		again = r.observeFresh(tg, status, got)
	} else {
		again = r.observeRevoked(tg, status, sent, got)
	}
	if again {
		r.watch.requeue(tg)
	} else {
		r.watch.finish()
	}
}

// observeFresh notes an answer for a key not yet seen on the other
// replica; it reports whether to try again.
func (r *faultRun) observeFresh(tg *target, status int, got time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := tg.k
	switch {
	case status == http.StatusOK:
		k.seenAt = got
		r.pools[k.creator] = append(r.pools[k.creator], k)
		return false
	case status == 0:
		k.seenDown = true
	}
	tg.due = got.Add(pollEvery)
	return got.Sub(k.createdAt) < giveUp
}

// observeRevoked notes an answer for a revoked key; it reports whether to
// try again. 401 and 503 both refuse the key.
func (r *faultRun) observeRevoked(tg *target, status int, sent, got time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, rep := tg.k, tg.replica
	switch status {
	case http.StatusOK:
		if sent.After(k.revokedAt) {
			k.accepted[rep] = later(k.accepted[rep], sent)
			k.acceptedN[rep]++
		}
		tg.refused = 0
	case http.StatusUnauthorized, http.StatusServiceUnavailable:
		tg.refused++
	}
	if tg.kind == watchOnce {
		return false
	}
	since := got.Sub(k.revokedAt)
	if tg.refused >= 2 && since >= revokedWatchFor || since >= giveUp {
		return false
	}
	tg.due = got.Add(pollEvery)
	if tg.refused > 0 {
		tg.due = got.Add(checkedEvery)
	}
	return true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// What a target is tried for.
const (
	watchFresh   = iota // until the other replica accepts the new key
	watchRevoked        // until the replica refuses the revoked key, and a while longer
	watchOnce           // one try of a revoked key (on a restarted replica)
)

// target is a key to try on a replica when due.
type target struct {
	k       *tracked
	replica int
	kind    int
	due     time.Time
	refused int // refusals since the last acceptance
}

// watchQueue hands the authenticators the target due first: their four
// goroutines share however many keys are watched, and when they cannot
// keep up every key is tried less often rather than some never.
type watchQueue struct {
	mu   sync.Mutex
	h    targetHeap
	live int // targets pushed and not finished
	wake chan struct{}
}

func newWatchQueue() *watchQueue { return &watchQueue{wake: make(chan struct{}, 1)} }

// push adds a new target.
func (q *watchQueue) push(tg *target) {
	q.mu.Lock()
	q.live++
	q.mu.Unlock()
	q.requeue(tg)
}

// finish drops a target next handed out: its watch is over.
func (q *watchQueue) finish() {
	q.mu.Lock()
	q.live--
	q.mu.Unlock()
}

// idle reports whether no target is watched any more.
func (q *watchQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.live == 0
}

// requeue hands a target out again when it is due.
func (q *watchQueue) requeue(tg *target) {
	q.mu.Lock()
	heap.Push(&q.h, tg)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next waits for the next due target; nil once ctx ended.
func (q *watchQueue) next(ctx context.Context) *target {
	for {
		q.mu.Lock()
		wait := time.Second
		if len(q.h) > 0 {
			if wait = time.Until(q.h[0].due); wait <= 0 {
				tg := heap.Pop(&q.h).(*target)
				q.mu.Unlock()
				return tg
			}
		}
		q.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-q.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h targetHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *targetHeap) Push(x any)        { *h = append(*h, x.(*target)) }
func (h *targetHeap) Pop() any {
	old := *h
	tg := old[len(old)-1]
	*h = old[:len(old)-1]
	return tg
}

// leaderMonitor asks every node's monitoring endpoint, every leaderPoll,
// which server leads the event stream and which serve its consumers. The
// stream has a leader when a node says it leads it and a majority of the
// nodes name it: a follower goes on naming a killed leader until it hears
// of an election, and a node just restarted may name itself before it
// hears of one.
type leaderMonitor struct {
	nodes []*testproc.Node // only Name and HTTPPort are read

	mu sync.Mutex
	// changes are the leader's changes ("" none), as first seen.
	changes []leaderChange
	served  map[string]int // consumers of the stream each node serves, last seen
}

type leaderChange struct {
	at     time.Time
	leader string
}

var monitorClient = &http.Client{Timeout: 500 * time.Millisecond}

func (m *leaderMonitor) run(ctx context.Context) {
	for ctx.Err() == nil {
		leader, served := m.look(ctx)
		now := time.Now()
		m.mu.Lock()
		if n := len(m.changes); n == 0 || m.changes[n-1].leader != leader {
			m.changes = append(m.changes, leaderChange{at: now, leader: leader})
		}
		m.served = served
		m.mu.Unlock()
		pause(ctx, leaderPoll)
	}
}

// jsz is what the test reads of a node's /jsz?streams=true&consumers=true.
type jsz struct {
	Accounts []struct {
		Streams []struct {
			Name    string `json:"name"`
			Cluster *struct {
				Leader string `json:"leader"`
			} `json:"cluster"`
			Consumers []struct {
				Name    string `json:"name"`
				Cluster *struct {
					Leader string `json:"leader"`
				} `json:"cluster"`
			} `json:"consumer_detail"`
		} `json:"stream_detail"`
	} `json:"account_details"`
}

func (m *leaderMonitor) look(ctx context.Context) (leader string, served map[string]int) {
	served = map[string]int{}
	named := map[string]int{} // how many nodes name each server the leader
	self := map[string]bool{} // servers that say they lead
	for _, n := range m.nodes {
		var z jsz
		if !getJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/jsz?streams=true&consumers=true", n.HTTPPort), &z) {
			continue
		}
		for _, a := range z.Accounts {
			for _, st := range a.Streams {
				if st.Name != eventlog.DefaultStream {
					continue
				}
				if st.Cluster != nil && st.Cluster.Leader != "" {
					named[st.Cluster.Leader]++
					self[n.Name] = self[n.Name] || st.Cluster.Leader == n.Name
				}
				for _, c := range st.Consumers {
					if c.Cluster != nil && c.Cluster.Leader == n.Name {
						served[n.Name]++
					}
				}
			}
		}
	}
	for name := range self {
		if named[name] > len(m.nodes)/2 {
			leader = name
		}
	}
	return leader, served
}

func getJSON(ctx context.Context, url string, v any) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return false
	}
	res, err := monitorClient.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	return res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(v) == nil
}

// leader is the stream's leader as last seen ("" none).
func (m *leaderMonitor) leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.changes) == 0 {
		return ""
	}
	return m.changes[len(m.changes)-1].leader
}

// servedBy is how many of the stream's consumers node serves, as last seen.
func (m *leaderMonitor) servedBy(node string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.served[node]
}

// servedString lists the consumers each node serves, for the log.
func (m *leaderMonitor) servedString() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var parts []string
	for _, n := range m.nodes {
		parts = append(parts, fmt.Sprintf("%s:%d", n.Name, m.served[n.Name]))
	}
	return strings.Join(parts, " ")
}

// leaderSince is when the stream's current stretch with a leader began, if
// it had one at every moment after p up to n then p itself; n if it had
// none at n.
func (m *leaderMonitor) leaderSince(p, n time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	since, leaderless := p, false
	for _, c := range m.changes {
		if c.at.After(n) {
			break
		}
		switch {
		case c.leader == "":
			leaderless = true
		case leaderless:
			leaderless = false
			if c.at.After(p) {
				since = c.at
			}
		}
	}
	if leaderless {
		return n
	}
	return since
}

// leaderless are the stretches without a leader that ended (or, end zero,
// had not) in [from, to).
func (m *leaderMonitor) leaderless(from, to time.Time) []stretch {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []stretch
	var open *stretch
	for _, c := range m.changes {
		switch {
		case c.leader == "" && open == nil:
			open = &stretch{from: c.at}
		case c.leader != "" && open != nil:
			open.to = c.at
			if !c.at.Before(from) && c.at.Before(to) {
				out = append(out, *open)
			}
			open = nil
		}
	}
	if open != nil && open.from.Before(to) {
		out = append(out, *open)
	}
	return out
}

type stretch struct{ from, to time.Time }
