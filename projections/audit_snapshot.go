package projections

import (
	"fmt"

	"github.com/keyplane/keyplane/domain"
)

// Name of the audit index in snapshots and digests. Version 1 named each
// record's key by its id (restoreV1).
func (a *Audit) Name() string { return "audit@2" }

// auditV1 is the name of the audit's snapshots that name keys by id in
// every record, which it restores still (Upgrader).
const auditV1 = "audit@1"

// Older are the older snapshot versions the audit trail restores.
func (a *Audit) Older() []string { return []string{auditV1} }

// RestoreOlder restores a snapshot of version 1.
func (a *Audit) RestoreOlder(name string, b []byte) error {
	if name != auditV1 {
		return fmt.Errorf("audit cannot restore %s", name)
	}
	return a.restoreV1(b)
}

// Snapshot encodes the interned tables in order (their numbers are part of
// the records), then the ids of the keys the records name, in order of
// first mention, then each tenant's records, tenants sorted, sequences and
// times as deltas, keys by number (1-based, 0 for none), then the project
// of each project-scoped key, by key number. A restore then places each
// key in the key table once, not once per event.
func (a *Audit) Snapshot() ([]byte, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.table.mu.RLock()
	ids := a.table.ids
	a.table.mu.RUnlock()
	var w writer
	if err := a.writeTables(&w); err != nil {
		return nil, err
	}
	tenants := sortedKeys(a.tenants)
	// Number the keys in order of first mention: records, then projects.
	number := make([]uint32, len(ids)) // by slot; 0: not yet
	var order []uint32                 // slots by number - 1
	numberOf := func(key uint32) uint32 {
		if key == 0 {
			return 0
		}
		if number[key-1] == 0 {
			order = append(order, key-1)
			number[key-1] = uint32(len(order))
		}
		return number[key-1]
	}
	for _, t := range tenants {
		l := a.tenants[t]
		for i := range l.n {
			numberOf(l.at(i).key)
		}
	}
	for slot, p := range a.keyProject {
		if p != 0 {
			numberOf(uint32(slot) + 1)
		}
	}
	w.uint(uint64(len(order)))
	for _, slot := range order {
		w.str(string(ids[slot]))
	}
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
			w.uint(uint64(numberOf(r.key)))
			w.uint(uint64(r.actor))
			w.uint(uint64(r.project))
			w.uint(uint64(r.typ))
		}
	}
	var projectKeys int
	for _, p := range a.keyProject {
		if p != 0 {
			projectKeys++
		}
	}
	w.uint(uint64(projectKeys))
	for n, slot := range order {
		if p := at(a.keyProject, slot); p != 0 {
			w.uint(uint64(n + 1))
			w.uint(uint64(p))
		}
	}
	return w.buf, nil
}

// writeTables writes the interned tables, in order.
func (a *Audit) writeTables(w *writer) error {
	w.uint(uint64(len(a.actors.vals)))
	for _, ac := range a.actors.vals {
		if err := putValue(w, &w.actors, ac); err != nil {
			return err
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
	return nil
}

// readTables reads what writeTables wrote into a, a fresh trail.
func (a *Audit) readTables(r *reader) {
	a.actors = restoreInterner(r, func() domain.Actor { return getValue(r, &r.actors) })
	a.types = restoreInterner(r, r.str)
	a.projects = restoreInterner(r, func() domain.ProjectID { return domain.ProjectID(r.str()) })
}

// Restore replaces the index with a snapshot's. Every record is read, its
// key by number, before the keys are placed in the key table: the key
// list, the auth index and the schedule restore at once, their keys in id
// order, and find each where the one before left off (slotGuess) unless
// the trail, whose keys come in order of mention, numbered them first.
func (a *Audit) Restore(b []byte) error { return a.restoreLate(b, func() {}) }

// restoreLate is Restore, which calls placed once it has decoded b and
// before it places the keys in the table (lateKeyPlacer).
func (a *Audit) restoreLate(b []byte, placed func()) error {
	r := reader{buf: b}
	fresh := NewAuditIn(a.table)
	fresh.readTables(&r)
	ids := make([][]byte, r.countOf(1))
	for i := range ids {
		ids[i] = r.bytes()
	}
	number := func() uint32 {
		n := r.uint()
		if n > uint64(len(ids)) {
			r.fail("audit key number")
			return 0
		}
		return uint32(n)
	}
	for range r.count() {
		t, l := domain.TenantID(r.str()), &auditLog{}
		var seq uint64
		var nanos int64
		for range r.count() {
			seq += r.uint()
			nanos += r.int()
			rec := auditRec{seq: seq, nanos: nanos, key: number(), actor: uint32(r.uint()), project: uint32(r.uint()), typ: uint16(r.uint())}
			fresh.check(&r, rec.actor, rec.project, rec.typ)
			l.add(rec)
		}
		fresh.tenants[t] = l
	}
	type keyProject struct{ key, project uint32 }
	projects := make([]keyProject, r.countOf(2)) // a key's number and its project: a byte each at least
	for k := range projects {
		key, p := number(), uint32(r.uint())
		fresh.check(&r, 0, p, 0)
		if key == 0 {
			r.fail("audit key project")
			break
		}
		projects[k] = keyProject{key, p}
	}
	if err := r.done(); err != nil {
		return err
	}
	placed()
	slots := make([]uint32, len(ids)) // by key number - 1
	a.table.resolveBytes(len(ids), func(i int) []byte { return ids[i] }, func(i int, slot uint32) { slots[i] = slot })
	for _, l := range fresh.tenants {
		for _, chunk := range l.chunks {
			for i := range chunk {
				if n := chunk[i].key; n != 0 {
					chunk[i].key = slots[n-1] + 1
				}
			}
		}
	}
	for _, kp := range projects {
		fresh.keyProject = put(fresh.keyProject, slots[kp.key-1], kp.project)
	}
	a.mu.Lock()
	a.tenants, a.actors, a.types, a.projects, a.keyProject = fresh.tenants, fresh.actors, fresh.types, fresh.projects, fresh.keyProject
	a.mu.Unlock()
	return nil
}

// check fails r when a record names an actor, project or type the tables
// of a do not hold.
func (a *Audit) check(r *reader, actor, project uint32, typ uint16) {
	if int(actor) >= len(a.actors.vals) || int(project) >= len(a.projects.vals) || int(typ) >= len(a.types.vals) {
		r.fail("audit record")
	}
}

// restoreV1 restores a snapshot of version 1. The keys the records name
// are numbered in the key table once all are read, a run at a time.
func (a *Audit) restoreV1(b []byte) error {
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
	fresh.readTables(&r)
	for range r.count() {
		t, l := domain.TenantID(r.str()), &auditLog{}
		var seq uint64
		var nanos int64
		for range r.count() {
			seq += r.uint()
			nanos += r.int()
			key := r.bytes()
			rec := auditRec{seq: seq, nanos: nanos, actor: uint32(r.uint()), project: uint32(r.uint()), typ: uint16(r.uint())}
			fresh.check(&r, rec.actor, rec.project, rec.typ)
			l.add(rec)
			if len(key) > 0 {
				named, names = append(named, recAt{l, l.n - 1}), append(names, key)
			}
		}
		fresh.tenants[t] = l
	}
	for range r.count() {
		k, p := domain.KeyID(r.str()), uint32(r.uint())
		fresh.check(&r, 0, p, 0)
		projectKeys, projectOf = append(projectKeys, k), append(projectOf, p)
	}
	if err := r.done(); err != nil {
		return err
	}
	a.table.resolveBytes(len(names), func(i int) []byte { return names[i] }, func(i int, slot uint32) {
		named[i].l.at(named[i].i).key = slot + 1
	})
	a.table.resolveShared(len(projectKeys), func(i int) *domain.KeyID { return &projectKeys[i] }, func(start int, slots []uint32) {
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
