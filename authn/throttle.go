package authn

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	mathrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Password guessing is slowed down with three counts of failed attempts:
// per principal from one source address, per source address, and per
// principal from anywhere. A principal is whose password is tested: a
// member (realm "native" and the login's name) or a project's user (realm
// "default_native", organization, project and name), so that a same-named
// user of another project, or a member named like a project user, neither
// adds to nor clears another's counts.
//
// Each count has free failures (freePair, freeAddr, freeName); each
// failure after those locks its key for twice as long as the one before
// (1 s, 2 s, 4 s ... up to maxLock), and while a key is locked even the
// right password is refused, so the lock cannot be used to test guesses.
// Past its free failures, a key's attempts are checked one at a time (the
// attempt holds a lease on the key), so that concurrent guesses cannot all
// slip in before the first one locks it.
//
// The pair count stops one client guessing one password; the address count
// stops it spraying guesses across many names (with room for one office
// behind a NAT); the principal count, with a large budget, stops a guess
// spread over many addresses. Keeping that budget large is what stops
// anybody from locking a colleague out with a few wrong passwords. A
// success clears its principal's counts (never another's, and not the
// address's: one right password must not reset a spray from there);
// failures older than forgetAfter are forgotten.
//
// The counts live in the log's KEYPLANE_THROTTLE bucket (eventlog.Counters),
// shared by every replica: behind a load balancer the budget is one, not
// one per replica. Writes compare and swap, so failures counted at once on
// two replicas are both counted. If the bucket cannot be read, password
// checks answer 503 rather than let guesses through uncounted; if a count
// cannot be written, the replica refuses password checks for storeBackoff.
// The bucket's keys are HMACs of the principal and address under the
// replicas' shared secret: neither names nor addresses are stored, nor
// logged by the throttle (a name field often holds a mistyped password).
const (
	freePair    = 5
	freeAddr    = 50
	freeName    = 200
	maxLock     = 15 * time.Minute
	forgetAfter = time.Hour
	// leaseFor bounds how long one attempt past the free failures holds
	// its keys, should its replica die before it counts the outcome.
	leaseFor = 5 * time.Second
	// casTries bounds the compare-and-swap retries of one count: enough
	// for dozens of failures of one key counted at once.
	casTries = 16
	// storeBackoff is how long a replica refuses password checks after it
	// could not store a count.
	storeBackoff = 5 * time.Second
	// maxTracked bounds the locks one replica remembers (its fast path)
	// and the keys of the in-process store.
	maxTracked = 100_000
)

// Counters is where the throttle keeps its counts: in production the log's
// bucket shared by every replica (eventlog.Counters, wired in app.go).
// Get returns (nil, 0, nil) for an absent key; Put writes only if the key
// is still at rev (0: absent) and answers domain.ErrConflict otherwise.
type Counters interface {
	Get(ctx context.Context, key string) (value []byte, rev uint64, err error)
	Put(ctx context.Context, key string, value []byte, rev uint64) (newRev uint64, err error)
	Delete(ctx context.Context, key string) error
}

// Subject is the principal whose password an attempt tests.
type Subject struct {
	realm   string
	tenant  domain.TenantID
	project domain.ProjectID
	name    string
}

// MemberSubject is a member's login (console, Basic on /api/v1, or an
// organization's member on the Elasticsearch surface).
func MemberSubject(name string) Subject { return Subject{realm: domain.RealmMembers, name: name} }

// ProjectUserSubject is a user of one project's realm.
func ProjectUserSubject(t domain.TenantID, pr domain.ProjectID, name string) Subject {
	return Subject{realm: domain.RealmProject, tenant: t, project: pr, name: name}
}

// esSubject is whose password Basic on a project's Elasticsearch surface
// tests: a member of the organization, else the project's user of that
// name, whether or not there is one (projectPassword), so that the counts
// tell nothing of which names the project has.
func (a *Authenticator) esSubject(o *domain.Org, pr *domain.Project, name string) Subject {
	if _, member := a.dir.RoleOf(o.ID, name); member {
		return MemberSubject(name)
	}
	return ProjectUserSubject(o.ID, pr.ID, name)
}

// record is one key's run of failed attempts, as stored.
type record struct {
	N     int   `json:"n"`
	Last  int64 `json:"last"`            // unix ns of the last failure
	Until int64 `json:"until,omitempty"` // locked until then
	// Lease is the attempt that checks a password past the free failures,
	// until LeaseUntil: the next waits for its outcome.
	Lease      uint64 `json:"lease,omitempty"`
	LeaseUntil int64  `json:"lease_until,omitempty"`
}

func (r record) forgotten(now time.Time) bool { return now.Sub(time.Unix(0, r.Last)) > forgetAfter }
func (r record) lockedFor(now time.Time) time.Duration {
	return time.Unix(0, r.Until).Sub(now)
}
func (r record) leased(now time.Time) bool { return r.Lease != 0 && now.UnixNano() < r.LeaseUntil }

type throttle struct {
	store Counters
	// mac keys the hashes that name the store's keys.
	mac []byte

	mu sync.Mutex
	// locked is the fast path: keys this replica saw locked, and until
	// when. It only ever refuses, and a lock is never lifted early, so it
	// cannot widen the shared budget.
	locked map[string]time.Time
	// storeDown: until then, password checks are refused (a count could
	// not be stored).
	storeDown time.Time
}

func newThrottle(store Counters, mac []byte) *throttle {
	return &throttle{store: store, mac: mac, locked: map[string]time.Time{}}
}

type throttleKey struct {
	id   string
	free int
}

func (t *throttle) keys(who Subject, addr string) [3]throttleKey {
	if !domain.ValidUserName(who.name) {
		// No login has such a name, so no check can accept it: count all
		// of them as one rather than hash each, which a Basic header can
		// make a megabyte long.
		who.name = "\x00invalid"
	}
	addr = addrKey(addr)
	principal := strings.Join([]string{who.realm, string(who.tenant), string(who.project), who.name}, "\x00")
	return [3]throttleKey{
		{t.hash("p", principal+"\x00"+addr), freePair},
		{t.hash("a", addr), freeAddr},
		{t.hash("n", principal), freeName},
	}
}

// hash is a store key: kind, a dot and the HMAC of what it counts in hex,
// a token the bucket accepts whatever the name held.
func (t *throttle) hash(kind, of string) string {
	return kind + "." + hex.EncodeToString(hmacSHA256(t.mac, kind, "\x00", of))
}

// addrKey is the address a count is kept for: an IPv6 client has a /64
// of its own, so its addresses count as one.
func addrKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// attempt is one password check under the throttle: what begin read of
// its keys, and the leases it holds.
type attempt struct {
	t     *throttle
	now   time.Time
	keys  [3]throttleKey
	recs  [3]record
	revs  [3]uint64
	held  [3]bool
	lease uint64
}

// begin refuses an attempt while any of its keys is locked or leased to
// another attempt, and takes the lease of each key past its free
// failures. An attempt it lets through must end with failed, succeeded or
// abandon, which frees exactly the leases this attempt holds.
func (t *throttle) begin(ctx context.Context, who Subject, addr string, now time.Time) (*attempt, error) {
	a := &attempt{t: t, now: now, keys: t.keys(who, addr)}
	if err := t.fastRefusal(a.keys, now); err != nil {
		return nil, err
	}
	if err := a.read(ctx); err != nil {
		return nil, err
	}
	for i, k := range a.keys {
		rec := a.recs[i]
		if d := rec.lockedFor(now); d > 0 {
			t.remember(k.id, now.Add(d))
			return nil, throttled(d)
		}
		if rec.leased(now) {
			return nil, throttled(time.Second)
		}
	}
	a.lease = newLease()
	for i, k := range a.keys {
		if a.recs[i].N < k.free {
			continue
		}
		if err := a.take(ctx, i); err != nil {
			a.abandon(ctx)
			return nil, err
		}
	}
	return a, nil
}

// read reads the attempt's three keys at once: on a cluster, where each
// read is a network round trip, every password check waits for one rather
// than three.
func (a *attempt) read(ctx context.Context) error {
	var errs [3]error
	var wg sync.WaitGroup
	for i, k := range a.keys {
		wg.Go(func() { a.recs[i], a.revs[i], errs[i] = a.t.get(ctx, k.id, a.now) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// take leases key i to this attempt. Another write since begin read it
// means another attempt got there first: this one waits.
func (a *attempt) take(ctx context.Context, i int) error {
	rec := a.recs[i]
	rec.Lease, rec.LeaseUntil = a.lease, a.now.Add(leaseFor).UnixNano()
	rev, err := a.t.put(ctx, a.keys[i].id, rec, a.revs[i])
	if domain.IsKind(err, domain.KindConflict) {
		return throttled(time.Second)
	}
	if err != nil {
		return err
	}
	a.recs[i], a.revs[i], a.held[i] = rec, rev, true
	return nil
}

// failed counts a wrong password on every key of the attempt. A count it
// cannot store makes this replica refuse password checks for a while.
func (a *attempt) failed(ctx context.Context) error {
	for i := range a.keys {
		if err := a.update(ctx, i, a.failure); err != nil {
			a.t.down(a.now)
			return err
		}
	}
	return nil
}

func (a *attempt) failure(i int, rec record) record {
	rec.N++
	rec.Last = a.now.UnixNano()
	if over := rec.N - a.keys[i].free; over > 0 {
		until := a.now.Add(lockFor(over))
		rec.Until = until.UnixNano()
		a.t.remember(a.keys[i].id, until)
	}
	return a.unleased(rec)
}

// succeeded clears the principal's counts; the address keeps its own.
func (a *attempt) succeeded(ctx context.Context) error {
	for _, i := range []int{0, 2} {
		if a.revs[i] != 0 {
			// Best effort: a count that stays only refuses more.
			_ = a.t.store.Delete(ctx, a.keys[i].id)
		}
	}
	a.release(ctx, 1)
	return nil
}

// abandon ends an attempt whose outcome says nothing of the password (the
// check itself failed): it counts nothing and frees its leases.
func (a *attempt) abandon(ctx context.Context) error {
	for i := range a.keys {
		a.release(ctx, i)
	}
	return nil
}

func (a *attempt) release(ctx context.Context, i int) {
	if a.held[i] {
		// Best effort: a lease left behind ends by itself after leaseFor.
		_ = a.update(ctx, i, func(_ int, rec record) record { return a.unleased(rec) })
	}
}

func (a *attempt) unleased(rec record) record {
	if rec.Lease == a.lease {
		rec.Lease, rec.LeaseUntil = 0, 0
	}
	return rec
}

// update writes change(key i's record), reading the record again after
// every conflict: two replicas counting at once both count.
func (a *attempt) update(ctx context.Context, i int, change func(int, record) record) error {
	id := a.keys[i].id
	rec, rev := a.recs[i], a.revs[i]
	for try := 0; ; try++ {
		next := change(i, rec)
		if _, err := a.t.put(ctx, id, next, rev); !domain.IsKind(err, domain.KindConflict) {
			return err
		}
		if try == casTries {
			return &domain.Error{Kind: domain.KindUnavailable, Op: "throttle", Reason: "too many concurrent writes"}
		}
		// A random pause spreads the writers that lost the same race.
		time.Sleep(mathrand.N(time.Duration(try+1) * time.Millisecond))
		var err error
		if rec, rev, err = a.t.get(ctx, id, a.now); err != nil {
			return err
		}
	}
}

// get reads a key's record; a forgotten run reads as none (keeping its
// revision for the next write).
func (t *throttle) get(ctx context.Context, id string, now time.Time) (record, uint64, error) {
	v, rev, err := t.store.Get(ctx, id)
	if err != nil || v == nil {
		return record{}, rev, err
	}
	var rec record
	if json.Unmarshal(v, &rec) != nil || rec.forgotten(now) {
		return record{}, rev, nil
	}
	return rec, rev, nil
}

func (t *throttle) put(ctx context.Context, id string, rec record, rev uint64) (uint64, error) {
	v, _ := json.Marshal(rec)
	return t.store.Put(ctx, id, v, rev)
}

func newLease() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0, which is no lease
}

// fastRefusal refuses without asking the store: the store is failing, or
// a key was seen locked.
func (t *throttle) fastRefusal(keys [3]throttleKey, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.storeDown) {
		return &domain.Error{Kind: domain.KindUnavailable, Op: "throttle", RetryAfter: t.storeDown.Sub(now),
			Reason: "password authentication is unavailable, retry later"}
	}
	for _, k := range keys {
		if until, ok := t.locked[k.id]; ok && now.Before(until) {
			return throttled(until.Sub(now))
		}
	}
	return nil
}

// remember keeps a lock for the fast path, dropping ended ones when full.
func (t *throttle) remember(id string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.locked) >= maxTracked {
		now := time.Now()
		for k, u := range t.locked {
			if !now.Before(u) {
				delete(t.locked, k)
			}
		}
		if len(t.locked) >= maxTracked {
			return // the store still has it
		}
	}
	if until.After(t.locked[id]) {
		t.locked[id] = until
	}
}

func (t *throttle) down(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.storeDown = now.Add(storeBackoff)
}

func throttled(retry time.Duration) error {
	return &domain.Error{Kind: domain.KindThrottled, RetryAfter: retry,
		Reason: "too many failed authentication attempts, retry later"}
}

// lockFor doubles from one second with every failure over the free ones.
func lockFor(over int) time.Duration {
	if over > 20 {
		return maxLock
	}
	return min(time.Second<<(over-1), maxLock)
}

// logID names a principal in the throttle's log lines without its name,
// which is often a mistyped password: the start of its count's key.
func (t *throttle) logID(who Subject) string { return t.keys(who, "")[2].id[:14] }

// CheckPassword runs a password check for who, from source address addr,
// under the throttle: refused while who or addr is locked, and its outcome
// counted (a wrong password) or its principal's counts cleared (a right
// one). Counted even if ctx is cancelled: otherwise hanging up right after
// the check would make a guess free.
func (a *Authenticator) CheckPassword(ctx context.Context, who Subject, addr string, check func() (domain.Principal, error)) (domain.Principal, error) {
	now := a.now()
	ctx = context.WithoutCancel(ctx)
	at, err := a.throttle.begin(ctx, who, addr, now)
	if err != nil {
		if domain.KindOf(err) == domain.KindThrottled {
			a.log.Warn("authentication throttled", "realm", who.realm, "principal", a.throttle.logID(who), "addr", addr)
		}
		return domain.Principal{}, err
	}
	end := at.abandon
	// Deferred: a check that panics must not hold its leases.
	defer func() {
		if err := end(ctx); err != nil {
			a.log.Error("a failed password could not be counted: password checks refused", "for", storeBackoff, "err", err)
		}
	}()
	p, err := check()
	switch {
	case err == nil:
		end = at.succeeded
	case domain.KindOf(err) == domain.KindUnauthenticated:
		end = at.failed
	}
	return p, err
}
