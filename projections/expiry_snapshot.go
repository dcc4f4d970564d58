package projections

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Name of the expiry schedule in snapshots and digests.
func (x *Expiry) Name() string { return "expiry@1" }

// Snapshot encodes every scheduled key, sorted by id, with the notices
// recorded for it. Due times are not stored: Restore computes them from the
// windows it is configured with, so a snapshot stays right when the windows
// change.
func (x *Expiry) Snapshot() ([]byte, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	type keyed struct {
		id domain.KeyID
		e  *expiryEntry
	}
	all := make([]keyed, 0, x.count)
	x.table.mu.RLock()
	for _, n := range x.index {
		if n != 0 {
			e := &x.entries[n-1]
			all = append(all, keyed{x.table.ids[e.slot], e})
		}
	}
	x.table.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	w := writer{buf: make([]byte, 0, 16+len(all)*40)}
	w.uint(uint64(len(all)))
	for _, k := range all {
		e := k.e
		w.sym(string(x.tenants.vals[e.tenant]))
		w.str(string(k.id))
		w.time(e.expiry())
		w.uint(e.keySeq)
		marks := x.notices[e.slot]
		w.uint(uint64(len(marks)))
		for _, n := range marks {
			w.int(int64(n.window))
			w.int(n.expires)
		}
	}
	return w.buf, nil
}

// Restore replaces the schedule with a snapshot's. Keys are read and
// placed in the key table a run at a time (see AuthIndex.Restore).
func (x *Expiry) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.countOf(5) // tenant, id, expiry, sequence, notices: a byte each at least
	tenants := newInterner[domain.TenantID]()
	entries := make([]expiryEntry, n)
	fresh := NewExpiryIn(x.windows, x.table)
	fresh.tenants, fresh.entries, fresh.queue = tenants, entries, make([]uint32, 0, n)
	fresh.index = make([]uint32, 0, n)
	x.table.Reserve(n)
	ids := make([][]byte, 0, min(n, restoreRun)) // the snapshot's bytes: copied only by a table new to them
	marks := map[int][]noticeMark{}
	for start := 0; start < n; start += len(ids) {
		ids = ids[:0]
		for i := start; i < min(start+restoreRun, n); i++ {
			e := &entries[i]
			e.tenant = fresh.tenants.id(domain.TenantID(r.sym()))
			ids = append(ids, r.bytes())
			e.setExpiry(r.time())
			e.keySeq = r.uint()
			for range r.count() {
				marks[i] = append(marks[i], noticeMark{window: domain.NoticeWindow(r.int()), expires: r.int()})
			}
		}
		if r.err != nil {
			return r.err
		}
		x.table.resolveBytes(len(ids), func(i int) []byte { return ids[i] }, func(i int, slot uint32) {
			k := start + i
			if at(fresh.index, slot) != 0 {
				return // an id twice: refused below
			}
			e := &entries[k]
			e.slot = slot
			if m, ok := marks[k]; ok {
				fresh.notices[slot] = m
			}
			e.due = fresh.dueOf(e)
			e.pos = uint32(len(fresh.queue))
			fresh.queue = append(fresh.queue, uint32(k+1))
			fresh.index = put(fresh.index, slot, uint32(k+1))
		})
	}
	if err := r.done(); err != nil {
		return err
	}
	if len(fresh.queue) != n {
		return fmt.Errorf("expiry snapshot: a key is scheduled twice")
	}
	fresh.count = n
	for i := n/2 - 1; i >= 0; i-- {
		fresh.down(i)
	}
	x.mu.Lock()
	x.index, x.entries, x.free, x.count, x.queue, x.tenants, x.notices = fresh.index, fresh.entries, nil, n, fresh.queue, fresh.tenants, fresh.notices
	x.mu.Unlock()
	return nil
}

// Name of the notices in progress in snapshots and digests.
func (ns *Notices) Name() string { return "notices@1" }

// Snapshot encodes every notice in progress, sorted by subject.
func (ns *Notices) Snapshot() ([]byte, error) {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	subjects := sortedKeys(ns.m)
	var w writer
	w.uint(uint64(len(subjects)))
	for _, subj := range subjects {
		s := ns.m[subj]
		w.sym(string(s.Tenant))
		w.str(s.ID)
		w.str(string(s.Notice.KeyID))
		w.int(int64(s.Notice.Window))
		w.time(s.Notice.Expires)
		w.uint(uint64(len(s.Notice.Recipients)))
		for _, rcpt := range s.Notice.Recipients {
			w.str(rcpt)
			w.bool(s.Settled[strings.ToLower(rcpt)])
		}
		w.uint(s.Seq)
	}
	return w.buf, nil
}

// Restore replaces the notices in progress with a snapshot's.
func (ns *Notices) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	m := make(map[string]*NoticeState, n)
	for range n {
		s := &NoticeState{Tenant: domain.TenantID(r.sym()), ID: r.str(), Settled: map[string]bool{}}
		s.Notice.KeyID, s.Notice.Window = domain.KeyID(r.str()), domain.NoticeWindow(r.int())
		s.Notice.Expires = r.time()
		rcpts := r.count()
		for range rcpts {
			rcpt := r.str()
			s.Notice.Recipients = append(s.Notice.Recipients, rcpt)
			if r.bool() {
				s.Settled[strings.ToLower(rcpt)] = true
			}
		}
		s.Seq = r.uint()
		m[eventlog.SubjectOf(s.Tenant, domain.AggNotice, s.ID)] = s
	}
	if err := r.done(); err != nil {
		return err
	}
	ns.mu.Lock()
	ns.m = m
	ns.mu.Unlock()
	return nil
}
