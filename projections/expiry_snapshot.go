package projections

import (
	"container/heap"
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
	all := make([]*expiryEntry, 0, x.count)
	for _, e := range x.bySlot {
		if e != nil {
			all = append(all, e)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	w := writer{buf: make([]byte, 0, 16+len(all)*40)}
	w.uint(uint64(len(all)))
	for _, e := range all {
		w.sym(string(e.tenant))
		w.str(string(e.id))
		w.time(e.expires)
		w.uint(e.keySeq)
		w.uint(uint64(len(e.notices)))
		for _, n := range e.notices {
			w.int(int64(n.window))
			w.int(n.expires)
		}
	}
	return w.buf, nil
}

// Restore replaces the schedule with a snapshot's.
func (x *Expiry) Restore(b []byte) error {
	r := reader{buf: b}
	n := r.count()
	queue := make(expiryQueue, 0, n)
	slab := make([]expiryEntry, n) // one allocation instead of n
	for i := range n {
		e := &slab[i]
		*e = expiryEntry{tenant: domain.TenantID(r.sym()), id: domain.KeyID(r.str()), expires: r.time(), keySeq: r.uint()}
		marks := r.count()
		for range marks {
			e.notices = append(e.notices, noticeMark{window: domain.NoticeWindow(r.int()), expires: r.int()})
		}
		e.due = domain.NextNoticeAt(e.expires, x.windows, e.noticedFor()).UnixNano()
		e.pos = len(queue)
		queue = append(queue, e)
	}
	if err := r.done(); err != nil {
		return err
	}
	bySlot, count := make([]*expiryEntry, 0, n), 0
	x.table.Reserve(n)
	x.table.resolveIDs(n, func(i int) domain.KeyID { return slab[i].id }, func(start int, slots []uint32) {
		for i, slot := range slots {
			e := &slab[start+i]
			e.slot = slot
			if at(bySlot, slot) == nil {
				count++
			}
			bySlot = put(bySlot, slot, e)
		}
	})
	heap.Init(&queue)
	x.mu.Lock()
	x.bySlot, x.count, x.queue = bySlot, count, queue
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
