package projections

import (
	"cmp"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/keyplane/keyplane/domain"
)

// A keys@5 snapshot carries, after its keys, each tenant's ordered
// indexes (list_index.go), so that a cold start does not sort a million
// keys again for its first lists (half a second an index). Each index is
// written as one run of its live entries, in order, and each entry as the
// position its key takes in the restored list: its rank among the
// tenant's keys in the snapshot's order (by id), in as few bytes as the
// tenant's count needs. The times of expiry and lastUse are read again
// from the keys; the owner index is followed by the length of each
// owner's run, which makes the owners' lists (ownerIndex) without reading
// the keys.
//
// A restore checks what would make a reader fail: every index holds each
// of the tenant's keys once. It checks the order of the indexes of times
// entry by entry (their numbers are at hand, and ties compare positions:
// a restored list's are in id order), that of the others at a sample of
// a thousand places, and each owner's run at its ends: comparing every
// neighbour reads the keys out of their order, a tenth of a second an
// index at a million keys. Damage to the bytes is the saved state's
// checksum's to find (DecodeSavedState), before any restore.
//
//	tenants: uvarint count, then each, by id:
//	  id (str), keys (uvarint), indexes present (one byte: listIndexes'
//	  bits), then each present index: keys positions of width(keys)
//	  bytes; after the owner index: its owners' count (uvarint) and the
//	  length of each one's run (uvarint)

// listIndexes are the indexes a snapshot carries, by their bit.
var listIndexes = []string{"created", "name", "owner", "expiration", "last_used"}

// lazyIndexes leaves every index to its first reader.
func (l *tenantKeys) lazyIndexes() {
	l.names.lazy()
	l.created.lazy()
	l.ownerOrder.lazy()
	l.expiry.lazy()
	l.lastUse.lazy()
	l.owners.lazy()
}

// frozenLists copies every tenant's keys and indexes as they are, for
// encoding after the lock is released; ks.mu is held.
func (ks *Keys) frozenLists() map[domain.TenantID]*tenantKeys {
	out := make(map[domain.TenantID]*tenantKeys, len(ks.byTenant))
	for t, l := range ks.byTenant {
		c := &tenantKeys{keys: slices.Clone(l.keys)}
		c.names.runs, c.names.unbuilt = l.names.frozen()
		c.created.runs, c.created.unbuilt = l.created.frozen()
		c.ownerOrder.runs, c.ownerOrder.unbuilt = l.ownerOrder.frozen()
		c.expiry.runs, c.expiry.unbuilt = l.expiry.frozen()
		c.lastUse.runs, c.lastUse.unbuilt = l.lastUse.frozen()
		out[t] = c
	}
	return out
}

// frozen is the index's runs (a reader may be building it: its lock).
func (o *orderedIndex) frozen() ([][]int32, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.runs), o.unbuilt
}

func (x *valueIndex) frozen() ([]valueRun, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.runs), x.unbuilt
}

// built says whether the index of bit i is built.
func (l *tenantKeys) built(i int) bool {
	if o, _ := l.posIndex(listIndexes[i]); o != nil {
		return !o.unbuilt
	}
	x, _ := l.timeIndex(listIndexes[i])
	return !x.unbuilt
}

// width is the bytes a position among n takes.
func width(n int) int {
	w := 1
	for ; n-1 >= 1<<(8*w) && w < 4; w++ {
	}
	return w
}

// encodeIndexes writes the indexes of lists (frozen) after recs, which
// encodeRecs sorted by id. An index its list left to its first reader is
// built here, on the copy, after the runner resumed: a restore has every
// index.
func encodeIndexes(w *writer, recs []*keyRec, lists map[domain.TenantID]*tenantKeys) {
	ranks := snapshotRanks(recs, lists)
	tenants := slices.Sorted(maps.Keys(lists))
	w.uint(uint64(len(tenants)))
	for _, t := range tenants {
		l, rank := lists[t], ranks[t]
		var runs [][]int32
		var present byte
		for i, by := range listIndexes {
			if run := l.inOrder(by); len(run) == len(l.keys) {
				runs = append(runs, run)
				present |= 1 << i
			}
		}
		w.str(string(t))
		w.uint(uint64(len(l.keys)))
		w.buf = append(w.buf, present)
		wd := width(len(l.keys))
		for i, by := range listIndexes {
			if present&(1<<i) == 0 {
				continue
			}
			for _, p := range runs[0] {
				end := len(w.buf) + wd
				w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(rank[p]))[:end]
			}
			if by == "owner" {
				l.ownerRuns(w, runs[0])
			}
			runs = runs[1:]
		}
	}
}

// snapshotRanks are, by tenant, the rank of the key at each position of
// its list among the tenant's keys in recs (the records of lists,
// recordsOf, sorted by id): the positions the keys take in the list a
// restore makes.
func snapshotRanks(recs []*keyRec, lists map[domain.TenantID]*tenantKeys) map[domain.TenantID][]int32 {
	ranks := make(map[domain.TenantID][]int32, len(lists))
	for t, l := range lists {
		ranks[t] = make([]int32, len(l.keys))
	}
	counts := make(map[domain.TenantID]int32, len(lists))
	for _, r := range recs {
		ranks[r.c.Tenant][r.pos] = counts[r.c.Tenant]
		counts[r.c.Tenant]++
	}
	return ranks
}

// lazyIndexesOf are, by tenant, the indexes of lists left to their first
// reader (by listIndexes' order).
func lazyIndexesOf(lists map[domain.TenantID]*tenantKeys) map[domain.TenantID][]bool {
	out := make(map[domain.TenantID][]bool, len(lists))
	for t, l := range lists {
		for i := range listIndexes {
			out[t] = append(out[t], !l.built(i))
		}
	}
	return out
}

// adoptIndexes gives the live lists the indexes a snapshot built on its
// copies (frozen) where they are still lazy, brought up to date with what
// was folded since: the keys added are added, the keys replaced retimed;
// an index whose field a replaced key changed otherwise (a key created
// again) stays lazy. Without it each snapshot would sort them again.
func (ks *Keys) adoptIndexes(frozen map[domain.TenantID]*tenantKeys, lazy map[domain.TenantID][]bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for t, c := range frozen {
		// Most snapshots find every index built: no key is compared
		// under the write lock for nothing.
		l := ks.byTenant[t]
		if l == nil || !slices.Contains(lazy[t], true) {
			continue
		}
		replaced, ok := replacedSince(c, l)
		if !ok {
			continue
		}
		for i, by := range listIndexes {
			if lazy[t][i] && c.built(i) && l.adoptable(by, c, replaced) {
				l.adopt(by, c, replaced)
			}
		}
	}
}

// replacedSince are the positions of c, a copy of list l, whose records
// l replaced since; ok is false where l is no longer what c copied
// (shorter, or another key at a position: a list restored since, whose
// positions follow ids, not the fold).
func replacedSince(c, l *tenantKeys) (replaced []int32, ok bool) {
	if len(l.keys) < len(c.keys) {
		return nil, false
	}
	for i, r := range c.keys {
		switch now := l.keys[i]; {
		case now == r:
		case now.ID != r.ID:
			return nil, false
		default:
			replaced = append(replaced, int32(i))
		}
	}
	return replaced, true
}

// adoptable says whether l's index by is lazy and the copy c's can be
// brought up to date: no key replaced since changed the field it orders
// by, but for times.
func (l *tenantKeys) adoptable(by string, c *tenantKeys, replaced []int32) bool {
	if l.built(slices.Index(listIndexes, by)) {
		return false
	}
	for _, i := range replaced {
		was, now := c.keys[i], l.keys[i]
		switch {
		case by == "name" && was.Name != now.Name,
			by == "created" && !was.createdAt().Equal(now.createdAt()),
			by == "owner" && was.c.Owner.User != now.c.Owner.User:
			return false
		}
	}
	return true
}

// adopt takes c's index by into l, adding what l holds past c and the
// new times of the keys replaced since.
func (l *tenantKeys) adopt(by string, c *tenantKeys, replaced []int32) {
	from := int32(len(c.keys))
	if o, order := l.posIndex(by); o != nil {
		co, _ := c.posIndex(by)
		o.runs, o.unbuilt = co.runs, false
		for p := from; p < int32(len(l.keys)); p++ {
			o.add(p, order)
		}
		return
	}
	x, f := l.timeIndex(by)
	cx, _ := c.timeIndex(by)
	x.runs, x.entries, x.stale, x.unbuilt = cx.runs, cx.entries, cx.stale, false
	for _, i := range replaced {
		l.retime(x, f, c.keys[i], l.keys[i])
	}
	for p := from; p < int32(len(l.keys)); p++ {
		x.insert(f.key(l.keys[p]), p, len(l.keys), l.timeOrder(f))
	}
}

// ownerRuns writes the length of each owner's run of run, the owner
// index's positions in order.
func (l *tenantKeys) ownerRuns(w *writer, run []int32) {
	var lens []int
	for i, pos := range run {
		if i == 0 || l.keys[pos].c.Owner.User != l.keys[run[i-1]].c.Owner.User {
			lens = append(lens, 0)
		}
		lens[len(lens)-1]++
	}
	w.uint(uint64(len(lens)))
	for _, n := range lens {
		w.uint(uint64(n))
	}
}

// inOrder is the positions of the live entries of index by, in order
// (the index built if lazy).
func (l *tenantKeys) inOrder(by string) []int32 {
	v, _ := l.viewOf(by)
	run := make([]int32, 0, len(l.keys))
	v.walk(false, nil, by, func(pos int32) bool {
		run = append(run, pos)
		return true
	})
	return run
}

// indexes reads what encodeIndexes wrote into the tenants' lists, each of
// whose indexes is lazy until then.
func (r *reader) indexes(lists map[domain.TenantID]*tenantKeys) error {
	tenants := r.count()
	seen := make(map[domain.TenantID]bool, tenants)
	for range tenants {
		t := domain.TenantID(r.str())
		n := r.uint()
		present := r.u8("indexes present")
		l := lists[t]
		switch {
		case r.err != nil:
			return r.err
		case l == nil || seen[t] || n != uint64(len(l.keys)) || present >= 1<<len(listIndexes):
			r.fail("tenant indexes")
			return r.err
		}
		seen[t] = true
		times := l.timeKeys(present&(1<<3) != 0, present&(1<<4) != 0)
		for i, by := range listIndexes {
			if present&(1<<i) == 0 {
				continue
			}
			run := r.positions(len(l.keys))
			if by == "owner" && r.err == nil && !l.owners.restoreFrom(run, r.runLengths(len(run)), l.keys) {
				r.fail("owner runs")
			}
			if r.err != nil || !l.restoreIndex(by, run, times) {
				r.fail("index " + by)
				return r.err
			}
		}
	}
	return r.err
}

// positions reads n positions below n, each once.
func (r *reader) positions(n int) []int32 {
	wd := width(n)
	if len(r.buf)/wd < n {
		r.fail("positions")
		return nil
	}
	run := make([]int32, n)
	seen := newPositionSet(n)
	b := r.buf[:n*wd]
	for i := range run {
		var p uint32
		switch wd {
		case 1:
			p = uint32(b[i])
		case 2:
			p = uint32(b[2*i]) | uint32(b[2*i+1])<<8
		case 3:
			p = uint32(b[3*i]) | uint32(b[3*i+1])<<8 | uint32(b[3*i+2])<<16
		default:
			p = binary.LittleEndian.Uint32(b[4*i:])
		}
		if !seen.add(p) {
			r.fail("position")
			return nil
		}
		run[i] = int32(p)
	}
	r.buf = r.buf[n*wd:]
	return run
}

// runLengths reads the lengths of the owners' runs, which add up to n.
func (r *reader) runLengths(n int) []int {
	k := r.count()
	if k > n { // each run holds a key at least
		r.fail("owner runs")
		return nil
	}
	lens := make([]int, k)
	sum := 0
	for i := range lens {
		lens[i] = int(min(r.uint(), uint64(n)+1))
		if sum += lens[i]; lens[i] == 0 || sum > n {
			r.fail("owner runs")
			return nil
		}
	}
	if sum != n {
		r.fail("owner runs")
		return nil
	}
	return lens
}

// restoreIndex makes run (every position once) index by, if it is in
// that index's order (checked at samples but for times).
func (l *tenantKeys) restoreIndex(by string, run []int32, times [2][]int64) bool {
	if o, order := l.posIndex(by); o != nil {
		return o.restoreRun(run, order)
	}
	x, f := l.timeIndex(by)
	if f == expiryField {
		return l.restoreTimes(x, f, run, times[0])
	}
	return l.restoreTimes(x, f, run, times[1])
}

// timeKeys are the numbers of the keys' expirations and last uses (those
// asked for), by position: read in one pass over the keys, which is most
// of what restoring the indexes of times costs.
func (l *tenantKeys) timeKeys(expiry, lastUse bool) (keys [2][]int64) {
	if expiry {
		keys[0] = make([]int64, len(l.keys))
	}
	if lastUse {
		keys[1] = make([]int64, len(l.keys))
	}
	for i, r := range l.keys {
		if expiry {
			keys[0][i] = expiryKey(r)
		}
		if lastUse {
			keys[1][i] = lastUseKey(r)
		}
	}
	return keys
}

// orderSamples is how many neighbours of a restored index of positions
// are compared.
const orderSamples = 1024

func (o *orderedIndex) restoreRun(run []int32, cmp cmpPos) bool {
	for i, step := 1, orderStep(len(run)); i < len(run); i += step {
		if cmp(run[i-1], run[i]) >= 0 {
			return false
		}
	}
	o.runs, o.unbuilt = [][]int32{run}, false
	return true
}

// restoreTimes makes pos the index of f, its numbers read from the keys.
// Entries of one number are in id order, which a restored list's
// positions follow: they compare without reading the keys.
func (l *tenantKeys) restoreTimes(x *valueIndex, f *timeField, pos []int32, keys []int64) bool {
	run := l.timeRun(f, pos, keys)
	for i := 1; i < run.len(); i++ {
		c := cmp.Compare(run.v[i-1], run.v[i])
		if c == 0 && !exactKey(run.v[i]) {
			c = f.of(l.keys[run.p[i-1]]).Compare(f.of(l.keys[run.p[i]]))
		}
		if c > 0 || c == 0 && run.p[i-1] >= run.p[i] {
			return false
		}
	}
	x.runs, x.entries, x.stale, x.unbuilt = []valueRun{run}, run.len(), 0, false
	return true
}

// restoreFrom fills the owner index from the positions in owner order
// and the length of each owner's run: a restored list's positions are in
// id order, as each owner's run is. Each owner's list is a piece of run
// (capped, so that an add copies it). Runs of one owner twice, or whose
// ends are not the same owner, make it fail.
func (o *ownerIndex) restoreFrom(run []int32, lens []int, keys []*keyRec) bool {
	o.by = make(map[string][]int32, len(lens))
	at := 0
	for _, n := range lens {
		owner := keys[run[at]].c.Owner.User
		if _, twice := o.by[owner]; twice || keys[run[at+n-1]].c.Owner.User != owner {
			o.by = nil
			return false
		}
		o.by[owner] = run[at : at+n : at+n]
		at += n
	}
	o.unbuilt = false
	return true
}
