package projections

import (
	"slices"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// Name of the audit index in snapshots and digests.
func (a *Audit) Name() string { return "audit@1" }

// Snapshot encodes the interned tables in order (their numbers are part of
// the records), then each tenant's records, tenants sorted, sequences and
// times as deltas.
func (a *Audit) Snapshot() ([]byte, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.table.mu.RLock()
	ids := a.table.ids
	a.table.mu.RUnlock()
	keyOf := func(key uint32) string {
		if key == 0 {
			return ""
		}
		return string(ids[key-1])
	}
	var w writer
	w.uint(uint64(len(a.actors.vals)))
	for _, ac := range a.actors.vals {
		if err := putValue(&w, &w.actors, ac); err != nil {
			return nil, err
		}
	}
	w.uint(uint64(len(a.types.vals)))
	for _, ty := range a.types.vals {
		w.str(ty)
	}
	w.uint(uint64(len(a.projects.vals)))
	for _, p := range a.projects.vals {
		w.str(string(p))
	}
	tenants := sortedKeys(a.tenants)
	w.uint(uint64(len(tenants)))
	for _, t := range tenants {
		l := a.tenants[t]
		w.str(string(t))
		w.uint(uint64(l.n))
		var seq uint64
		var nanos int64
		for i := range l.n {
			r := l.at(i)
			w.uint(r.seq - seq)
			w.int(r.nanos - nanos)
			seq, nanos = r.seq, r.nanos
			w.str(keyOf(r.key))
			w.uint(uint64(r.actor))
			w.uint(uint64(r.project))
			w.uint(uint64(r.typ))
		}
	}
	type keyed struct {
		id      string
		project uint32
	}
	var keys []keyed
	for slot, p := range a.keyProject {
		if p != 0 {
			keys = append(keys, keyed{keyOf(uint32(slot) + 1), p})
		}
	}
	slices.SortFunc(keys, func(x, y keyed) int { return strings.Compare(x.id, y.id) })
	w.uint(uint64(len(keys)))
	for _, k := range keys {
		w.str(k.id)
		w.uint(uint64(k.project))
	}
	return w.buf, nil
}

// Restore replaces the index with a snapshot's. The keys the records name
// are numbered in the key table once all are read, a run at a time.
func (a *Audit) Restore(b []byte) error {
	r := reader{buf: b}
	fresh := NewAuditIn(a.table)
	type recAt struct {
		l *auditLog
		i int
	}
	var named []recAt              // the records that name a key
	var names [][]byte             // and the keys they name
	var projectKeys []domain.KeyID // the project-scoped keys
	var projectOf []uint32         // and their projects
	fresh.actors = restoreInterner(&r, func() domain.Actor { return getValue(&r, &r.actors) })
	fresh.types = restoreInterner(&r, r.str)
	fresh.projects = restoreInterner(&r, func() domain.ProjectID { return domain.ProjectID(r.str()) })
	for range r.count() {
		t, l := domain.TenantID(r.str()), &auditLog{}
		var seq uint64
		var nanos int64
		for range r.count() {
			seq += r.uint()
			nanos += r.int()
			key := r.bytes()
			rec := auditRec{seq: seq, nanos: nanos, actor: uint32(r.uint()), project: uint32(r.uint()), typ: uint16(r.uint())}
			if int(rec.actor) >= len(fresh.actors.vals) || int(rec.project) >= len(fresh.projects.vals) || int(rec.typ) >= len(fresh.types.vals) {
				r.fail("audit record")
			}
			l.add(rec)
			if len(key) > 0 {
				named, names = append(named, recAt{l, l.n - 1}), append(names, key)
			}
		}
		fresh.tenants[t] = l
	}
	for range r.count() {
		k, p := domain.KeyID(r.str()), uint32(r.uint())
		if int(p) >= len(fresh.projects.vals) {
			r.fail("audit key project")
		}
		projectKeys, projectOf = append(projectKeys, k), append(projectOf, p)
	}
	if err := r.done(); err != nil {
		return err
	}
	a.table.resolveBytes(len(names), func(i int) []byte { return names[i] }, func(i int, slot uint32) {
		named[i].l.at(named[i].i).key = slot + 1
	})
	a.table.resolveIDs(len(projectKeys), func(i int) domain.KeyID { return projectKeys[i] }, func(start int, slots []uint32) {
		for i, slot := range slots {
			fresh.keyProject = put(fresh.keyProject, slot, projectOf[start+i])
		}
	})
	a.mu.Lock()
	a.tenants, a.actors, a.types, a.projects, a.keyProject = fresh.tenants, fresh.actors, fresh.types, fresh.projects, fresh.keyProject
	a.mu.Unlock()
	return nil
}

// restoreInterner reads a table written in order; the first value is the
// zero value at number 0.
func restoreInterner[T comparable](r *reader, read func() T) interner[T] {
	n := r.count()
	in := interner[T]{vals: make([]T, 0, n), idx: make(map[T]uint32, n)}
	for i := range n {
		v := read()
		in.vals = append(in.vals, v)
		in.idx[v] = uint32(i)
	}
	if len(in.vals) == 0 {
		return newInterner[T]()
	}
	return in
}
