package projections

import (
	"sort"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Audit is the audit trail of every organization: an index over the log of
// who did what to which key or project, and when.
//
// It keeps only what its filters need (sequence, time, type, actor, key,
// project) in fixed 32-byte records, with actors, types and projects
// interned and keys named by their slot in the key table it shares with
// the other per-key projections (KeyTable); an entry is shown by reading
// its event back from the log (AuditEntryOf), so what an auditor sees is
// the log itself. Memory: 32 bytes an event, 4 bytes a key (to find the
// project of a key's later events), plus one part-filled chunk per
// organization.
type Audit struct {
	mu       sync.RWMutex
	table    *KeyTable
	tenants  map[domain.TenantID]*auditLog
	actors   interner[domain.Actor]
	types    interner[string]
	projects interner[domain.ProjectID]
	// keyProject is the project of each project-scoped key, by slot; 0
	// for none.
	keyProject []uint32
	slots      []uint32 // ApplyAll's scratch (KeyTable.foldRun)
}

// auditRec is one indexed event. Interned fields are indexes into the
// Audit's tables; 0 is the zero value. key is the key's slot plus one, 0
// for an event about no key.
type auditRec struct {
	seq     uint64
	nanos   int64
	key     uint32
	actor   uint32
	project uint32
	typ     uint16
}

// auditChunk bounds how much one append may copy: a tenant's records live in
// chunks of this many, every chunk but the last full.
const auditChunk = 4096

// auditLog is one organization's records in log order.
type auditLog struct {
	chunks [][]auditRec
	n      int
}

func (l *auditLog) add(r auditRec) {
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last]) == auditChunk {
		capacity := 8
		if last >= 0 {
			capacity = auditChunk // a tenant this busy fills the next one too
		}
		l.chunks = append(l.chunks, make([]auditRec, 0, capacity))
		last++
	}
	l.chunks[last] = append(l.chunks[last], r)
	l.n++
}

func (l *auditLog) at(i int) *auditRec { return &l.chunks[i/auditChunk][i%auditChunk] }

// interner numbers distinct values in order of first appearance, so a fold
// of the same log always gives the same numbers.
type interner[T comparable] struct {
	vals []T
	idx  map[T]uint32
}

func newInterner[T comparable]() interner[T] {
	var zero T
	return interner[T]{vals: []T{zero}, idx: map[T]uint32{zero: 0}}
}

func (in *interner[T]) id(v T) uint32 {
	if i, ok := in.idx[v]; ok {
		return i
	}
	i := uint32(len(in.vals))
	in.vals = append(in.vals, v)
	in.idx[v] = i
	return i
}

// NewAudit returns an empty audit trail with a key table of its own.
func NewAudit() *Audit { return NewAuditIn(NewKeyTable()) }

// NewAuditIn returns an empty audit trail numbering keys in table t, which
// it may share with other projections.
func NewAuditIn(t *KeyTable) *Audit {
	return &Audit{table: t, tenants: map[domain.TenantID]*auditLog{}, actors: newInterner[domain.Actor](),
		types: newInterner[string](), projects: newInterner[domain.ProjectID]()}
}

// Audited reports whether an event belongs in an organization's audit
// trail: everything but system-wide aggregates (logins, name claims) and the
// Idempotency-Key claims, which are plumbing of a create already audited,
// and usage records (KeyUsed): no one changed anything, and at one per key
// per hour they would outnumber every change (a key's entries show its
// last use instead, AuditEntry.LastUsed).
func Audited(ev domain.Event) bool {
	return ev.Tenant != domain.SystemTenant && ev.Tenant != "" && ev.AggType != domain.AggIdem && ev.AggType != domain.AggKeyUse
}

// Apply indexes one event.
func (a *Audit) Apply(ev domain.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	slot := uint32(0)
	if isKeyEvent(ev) {
		slot = a.table.slotFor(domain.KeyID(ev.AggID))
	}
	return a.apply(ev, slot)
}

// ApplyAll indexes a run of events (BatchApplier).
func (a *Audit) ApplyAll(evs []domain.Event) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.table.foldRun(evs, &a.slots, a.apply)
}

// apply indexes one event, about the key in slot when it is a key's; a.mu
// is held.
func (a *Audit) apply(ev domain.Event, slot uint32) error {
	if !Audited(ev) {
		return nil
	}
	// Only the two payloads that name a project are decoded: the index
	// never depends on a payload it does not understand.
	var project domain.ProjectID
	var created domain.KeyID
	// One that does not decode is indexed all the same, by its envelope
	// (or subject): its entry shows it unreadable (AuditEntryOf).
	switch ev.Type {
	case (domain.KeyCreated{}).EventType(), (domain.ProjectCreated{}).EventType():
		p, _ := ev.Decode()
		switch x := p.(type) {
		case domain.KeyCreated:
			project, created = x.Project, domain.KeyID(ev.AggID)
		case domain.ProjectCreated:
			project = x.ProjectID
		}
	}
	r := auditRec{seq: ev.Seq, nanos: ev.Time.UnixNano(), actor: a.actors.id(ev.Actor), typ: uint16(a.types.id(ev.Type))}
	switch ev.AggType {
	case domain.AggKey:
		r.key = slot + 1
	case domain.AggNotice:
		// Notices live on their own subjects; their entries belong to the key.
		if id, ok := domain.NoticeKeyID(ev.AggID); ok {
			r.key = a.table.slotFor(id) + 1
		}
	}
	if r.key != 0 {
		r.project = at(a.keyProject, r.key-1)
	}
	if project != "" {
		r.project = a.projects.id(project)
		if created != "" {
			a.keyProject = put(a.keyProject, r.key-1, r.project)
		}
	}
	t := a.tenants[ev.Tenant]
	if t == nil {
		t = &auditLog{}
		a.tenants[ev.Tenant] = t
	}
	t.add(r)
	return nil
}

// AuditQuery selects entries of one organization. Zero fields do not
// filter.
type AuditQuery struct {
	Tenant domain.TenantID
	// Actor matches the actor's id (a member name or key id) or the member
	// a key acted for, so a member's query also finds what their keys did.
	Actor   string
	KeyID   domain.KeyID
	Types   []string
	Project domain.ProjectID
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// After is the cursor: only entries past this sequence, in the query's
	// direction (newest first when Desc).
	After uint64
	Desc  bool
	Size  int
}

// Find returns the sequences of the entries q selects, in its order, at
// most q.Size of them, and whether more follow.
func (a *Audit) Find(q AuditQuery) (seqs []uint64, more bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	t := a.tenants[q.Tenant]
	if t == nil || q.Size <= 0 {
		return nil, false
	}
	match, ok := a.matcher(q)
	if !ok {
		return nil, false
	}
	i, step := a.start(t, q)
	for ; i >= 0 && i < t.n; i += step {
		r := t.at(i)
		if !match(r) {
			continue
		}
		if len(seqs) == q.Size {
			return seqs, true
		}
		seqs = append(seqs, r.seq)
	}
	return seqs, false
}

// start is the index of the first record past the cursor and the scan
// direction.
func (a *Audit) start(t *auditLog, q AuditQuery) (int, int) {
	if !q.Desc {
		return sort.Search(t.n, func(i int) bool { return t.at(i).seq > q.After }), 1
	}
	if q.After == 0 {
		return t.n - 1, -1
	}
	return sort.Search(t.n, func(i int) bool { return t.at(i).seq >= q.After }) - 1, -1
}

// matcher compiles q's filters against the interned tables; ok is false when
// a filter names something never seen, so nothing can match.
func (a *Audit) matcher(q AuditQuery) (func(*auditRec) bool, bool) {
	var actors map[uint32]bool
	if q.Actor != "" {
		actors = map[uint32]bool{}
		for i, ac := range a.actors.vals {
			if i > 0 && (ac.ID == q.Actor || ac.User == q.Actor) {
				actors[uint32(i)] = true
			}
		}
		if len(actors) == 0 {
			return nil, false
		}
	}
	var types map[uint16]bool
	if len(q.Types) > 0 {
		types = map[uint16]bool{}
		for _, ty := range q.Types {
			if i, ok := a.types.idx[ty]; ok && i > 0 {
				types[uint16(i)] = true
			}
		}
		if len(types) == 0 {
			return nil, false
		}
	}
	key := uint32(0)
	if q.KeyID != "" {
		slot, ok := a.table.Slot(q.KeyID)
		if !ok {
			return nil, false
		}
		key = slot + 1
	}
	project := uint32(0)
	if q.Project != "" {
		i, ok := a.projects.idx[q.Project]
		if !ok {
			return nil, false
		}
		project = i
	}
	since, until := int64(0), int64(0)
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	return func(r *auditRec) bool {
		switch {
		case actors != nil && !actors[r.actor]:
		case types != nil && !types[r.typ]:
		case project != 0 && r.project != project:
		case key != 0 && r.key != key:
		case since != 0 && r.nanos < since:
		case until != 0 && r.nanos >= until:
		default:
			return true
		}
		return false
	}, true
}

// ProjectOfKey is the project of a project-scoped key, "" for an
// organization key or an unknown one.
func (a *Audit) ProjectOfKey(id domain.KeyID) domain.ProjectID {
	a.mu.RLock()
	defer a.mu.RUnlock()
	slot, ok := a.table.Slot(id)
	if !ok {
		return ""
	}
	return a.projects.vals[at(a.keyProject, slot)]
}

// Len is the number of indexed events of all organizations.
func (a *Audit) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	n := 0
	for _, t := range a.tenants {
		n += t.n
	}
	return n
}
