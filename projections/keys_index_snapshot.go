package projections

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// A keys@5 snapshot carries, after its keys, each tenant's ordered
// indexes (list_index.go), so that a cold start does not sort a million
// keys again for its first lists (half a second an index). Each index is
// written as one run of its live entries, in order, and each entry as the
// position its key takes in the restored list: its rank among the
// tenant's keys in the snapshot's order (by id), in as few bytes as the
// tenant's count needs. The times of expiry and lastUse are read again
// from the keys. A restore checks every index is an order of all of the
// tenant's keys, each once, in its order: a damaged one fails the restore.
//
//	tenants: uvarint count, then each, by id:
//	  id (str), keys (uvarint), indexes present (one byte: listIndexes'
//	  bits), then each present index: keys positions of width(keys) bytes

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

// built says whether the index of bit i is built (a snapshot carries
// only those: the others stay lazy).
func (l *tenantKeys) built(i int) bool {
	switch listIndexes[i] {
	case "created":
		return !l.created.unbuilt
	case "name":
		return !l.names.unbuilt
	case "owner":
		return !l.ownerOrder.unbuilt
	case "expiration":
		return !l.expiry.unbuilt
	}
	return !l.lastUse.unbuilt
}

// width is the bytes a position among n takes.
func width(n int) int {
	w := 1
	for ; n-1 >= 1<<(8*w) && w < 4; w++ {
	}
	return w
}

// encodeIndexes writes the indexes of lists (frozen) after recs, which
// encodeRecs sorted by id.
func encodeIndexes(w *writer, recs []*keyRec, lists map[domain.TenantID]*tenantKeys) {
	ranks := make(map[domain.TenantID][]int32, len(lists))
	counts := make(map[domain.TenantID]int32, len(lists))
	var last domain.TenantID
	var rank []int32
	for _, r := range recs {
		t := r.c.Tenant
		if rank == nil || t != last {
			last, rank = t, ranks[t]
			if rank == nil && lists[t] != nil {
				rank = make([]int32, len(lists[t].keys))
				ranks[t] = rank
			}
		}
		if int(r.pos) < len(rank) {
			rank[r.pos] = counts[t]
		}
		counts[t]++
	}
	tenants := make([]domain.TenantID, 0, len(lists))
	for t := range lists {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	w.uint(uint64(len(tenants)))
	for _, t := range tenants {
		l, rank := lists[t], ranks[t]
		n := len(l.keys)
		var runs [][]int32
		var present byte
		for i := range listIndexes {
			if int(counts[t]) != n || !l.built(i) {
				continue // never so: a list holds the records
			}
			if run := l.ranked(listIndexes[i], rank); len(run) == n {
				runs = append(runs, run)
				present |= 1 << i
			}
		}
		w.str(string(t))
		w.uint(uint64(n))
		w.buf = append(w.buf, present)
		wd := width(n)
		for _, run := range runs {
			for _, p := range run {
				end := len(w.buf) + wd
				w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(p))[:end]
			}
		}
	}
}

// ranked is the live entries of index by, in order, as ranks.
func (l *tenantKeys) ranked(by string, rank []int32) []int32 {
	v, _ := l.viewOf(by)
	run := make([]int32, 0, len(l.keys))
	v.walk(false, nil, by, func(pos int32) bool {
		run = append(run, rank[pos])
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
		for i, by := range listIndexes {
			if present&(1<<i) == 0 {
				continue
			}
			run := r.positions(len(l.keys))
			if r.err != nil || !l.restoreIndex(by, run) {
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
	seen := make([]uint64, (n+63)/64)
	var b [4]byte
	for i := range run {
		copy(b[:], r.buf[i*wd:(i+1)*wd])
		p := binary.LittleEndian.Uint32(b[:])
		if p >= uint32(n) || seen[p/64]&(1<<(p%64)) != 0 {
			r.fail("position")
			return nil
		}
		seen[p/64] |= 1 << (p % 64)
		run[i] = int32(p)
	}
	r.buf = r.buf[n*wd:]
	return run
}

// restoreIndex makes run (every position once) index by, if it is in
// that index's order.
func (l *tenantKeys) restoreIndex(by string, run []int32) bool {
	switch by {
	case "created":
		return l.created.restoreRun(run, l.byCreated)
	case "name":
		return l.names.restoreRun(run, l.byName)
	case "owner":
		if !l.ownerOrder.restoreRun(run, l.byOwner) {
			return false
		}
		l.owners.restoreFrom(run, l.keys)
		return true
	case "expiration":
		return l.restoreTimes(&l.expiry, expiryOf, run)
	}
	return l.restoreTimes(&l.lastUse, lastUseOf, run)
}

func (o *orderedIndex) restoreRun(run []int32, cmp cmpPos) bool {
	for i := 1; i < len(run); i++ {
		if cmp(run[i-1], run[i]) >= 0 {
			return false
		}
	}
	o.runs, o.unbuilt = [][]int32{run}, false
	return true
}

func (l *tenantKeys) restoreTimes(x *valueIndex, f timeField, pos []int32) bool {
	run, order := l.timeRun(f, pos), l.timeOrder(f)
	for i := 1; i < run.len(); i++ {
		if order(run.v[i-1], run.p[i-1], run.v[i], run.p[i]) >= 0 {
			return false
		}
	}
	x.runs, x.entries, x.stale, x.unbuilt = []valueRun{run}, run.len(), 0, false
	return true
}

// restoreFrom fills the owner index from the positions in owner order
// (by owner, then id: a restored list's positions are in id order), each
// owner's taking a piece of run (capped, so that an add copies it).
func (o *ownerIndex) restoreFrom(run []int32, keys []*keyRec) {
	o.by, o.unbuilt = map[string][]int32{}, false
	for i := 0; i < len(run); {
		owner := keys[run[i]].c.Owner.User
		j := i + 1
		for j < len(run) && strings.Compare(keys[run[j]].c.Owner.User, owner) == 0 {
			j++
		}
		o.by[owner] = run[i:j:j]
		i = j
	}
}
