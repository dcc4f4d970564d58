package projections

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// KeyRecord is what a query over many keys reads of one project key: the
// fields Elasticsearch's query API key API can match and sort on. Times are
// Unix milliseconds, 0 for none. It is 96 bytes: its owner is one pointer
// to a copy shared by every key of the owner (User, Realm).
type KeyRecord struct {
	ID            domain.KeyID
	Name          string
	owner         *recordOwner
	Created       int64
	Expires       int64
	InvalidatedAt int64
	// Metadata is flattened as Elasticsearch indexes it, paths interned:
	// matching "metadata.team" compares a few strings, no map walk.
	Metadata     []domain.MetadataLeaf
	Invalidated  bool
	CrossCluster bool // type cross_cluster, not rest
}

// recordOwner is a key's owner as records share it.
type recordOwner struct{ user, realm string }

// User is the name of the key's owner.
func (r *KeyRecord) User() string { return r.owner.user }

// Realm is the realm of the key's owner.
func (r *KeyRecord) Realm() string { return r.owner.realm }

// KeyIndex keeps the keys of each project as compact records in one slice,
// in creation order. A query that looks at every key of a project then
// walks one dense slice instead of every key of the organization, which is
// what keeps the query API fast at 100,000 keys. Organization-level keys
// are not indexed (the Elasticsearch surface is per project).
//
// A record, once in the index, never changes: an update replaces it with a
// changed copy. So a query copies the project's record pointers under the
// read lock (Records) and evaluates without it: a slow query never holds
// up the folding of creates and revocations behind it.
//
// Where a key's record sits is kept by its slot in the key table the index
// shares with the other per-key projections (KeyTable), 8 bytes a key, not
// in maps by id: at a million keys two such maps cost 100 bytes a key.
type KeyIndex struct {
	mu       sync.RWMutex
	table    *KeyTable
	projects map[domain.ProjectID]*projectRecords
	list     []*projectRecords // by number - 1 (recordAt.project)
	at       []recordAt        // by slot
	count    int
	strs     stringInterner
	slots    []uint32 // ApplyAll's scratch (KeyTable.foldRun)
}

// recordAt is where a key's record sits: its project's number (1-based,
// 0 for a key not indexed) and its position in the project's Records.
type recordAt struct {
	project uint32
	pos     uint32
}

type projectRecords struct {
	Tenant  domain.TenantID
	Records []*KeyRecord
	num     uint32    // in KeyIndex.list, 1-based
	ix      *KeyIndex // its index, which finds its keys (position)
	// names orders Records by name, created by creation (index_names.go).
	names, created orderedIndex
	// terms are the exact-match fields' values (index_terms.go).
	terms termIndex
	// ord orders Records by owner, expiration, invalidation (index_order.go).
	ord recordOrders
}

// NewKeyIndex returns an empty index with a key table of its own.
func NewKeyIndex() *KeyIndex { return NewKeyIndexIn(NewKeyTable()) }

// NewKeyIndexIn returns an empty index numbering keys in table t, which it
// may share with other projections.
func NewKeyIndexIn(t *KeyTable) *KeyIndex {
	return &KeyIndex{table: t, projects: map[domain.ProjectID]*projectRecords{}}
}

// Apply folds key events.
func (ix *KeyIndex) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.apply(ev, ix.table.slotFor(domain.KeyID(ev.AggID)))
}

// ApplyAll folds a run of events (BatchApplier).
func (ix *KeyIndex) ApplyAll(evs []domain.Event) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.table.foldRun(evs, &ix.slots, ix.apply)
}

// apply folds one event, about the key in slot when it is a key's; ix.mu
// is held.
func (ix *KeyIndex) apply(ev domain.Event, slot uint32) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	if c, ok := p.(domain.KeyCreated); ok {
		ix.create(ev, c, slot)
		return nil
	}
	where := at(ix.at, slot)
	if where.project == 0 {
		return nil // an organization-level key
	}
	pr := ix.list[where.project-1]
	old := &pr.Records[where.pos]
	r := new(KeyRecord)
	*r = **old
	switch x := p.(type) {
	case domain.KeyUpdated:
		if x.Metadata != nil {
			r.Metadata = ix.strs.leaves(*x.Metadata)
			pr.terms.addMetadata(int32(where.pos), r.Metadata)
		}
		if x.Expires != nil {
			r.Expires = x.Expires.UnixMilli()
		} else if x.NeverExpires {
			r.Expires = 0
		}
	case domain.KeyRotated:
		r.Expires = x.Expires.UnixMilli()
	case domain.KeyInvalidated:
		r.Invalidated, r.InvalidatedAt = true, ev.Time.UnixMilli()
	default:
		return nil
	}
	pr.changed(int32(where.pos), *old, r)
	*old = r // replaced, not changed: queries may be reading the old one
	return nil
}

// create indexes a project key. Its id is the event's aggregate id, the
// string the key table holds, rather than the payload's copy of it.
func (ix *KeyIndex) create(ev domain.Event, c domain.KeyCreated, slot uint32) {
	if c.Scope != domain.ScopeProject {
		return
	}
	rec := &KeyRecord{ID: domain.KeyID(ev.AggID), Name: c.Name, owner: ix.strs.owner(c.Owner.User, c.Owner.Realm),
		Created: ev.Time.UnixMilli(), CrossCluster: c.Type == domain.KeyCrossCluster, Metadata: ix.strs.leaves(c.Metadata)}
	if c.Expires != nil {
		rec.Expires = c.Expires.UnixMilli()
	}
	if where := at(ix.at, slot); where.project != 0 {
		ix.createdAgain(where, c.Project, ev.Tenant, rec)
		return
	}
	ix.add(ix.project(c.Project, ev.Tenant), rec, slot)
}

// createdAgain replaces the record of a key the log creates again (no
// command does) in the project it is indexed in, as the key list does:
// its name, owner, creation and metadata may have changed, which the
// project's indexes cannot follow in place, so they are built anew by
// their next reader. Created again in another project, the key keeps its
// first record there (the query API leaves such a hit out: the key is not
// of that project any more).
func (ix *KeyIndex) createdAgain(where recordAt, project domain.ProjectID, t domain.TenantID, rec *KeyRecord) {
	pr := ix.list[where.project-1]
	if ix.projects[project] != pr || pr.Tenant != t {
		return
	}
	pr.Records[where.pos] = rec // replaced, not changed: queries may be reading the old one
	pr.lazy()
}

// lazy leaves every index of pr to its first reader, who builds it from
// the records.
func (pr *projectRecords) lazy() {
	pr.names.lazy()
	pr.created.lazy()
	pr.terms.lazy()
	pr.ord.lazy()
}

// project is project id's records, new and empty the first time.
func (ix *KeyIndex) project(id domain.ProjectID, t domain.TenantID) *projectRecords {
	pr := ix.projects[id]
	if pr == nil {
		pr = &projectRecords{Tenant: t, ix: ix}
		ix.projects[id] = pr
		ix.number(pr)
	}
	return pr
}

// number gives pr its number in ix.list.
func (ix *KeyIndex) number(pr *projectRecords) {
	ix.list = append(ix.list, pr)
	pr.ix = ix
	pr.num = uint32(len(ix.list))
}

// add appends rec, the record of the key in slot, to pr and its indexes.
func (ix *KeyIndex) add(pr *projectRecords, rec *KeyRecord, slot uint32) {
	pos := int32(len(pr.Records))
	pr.Records = append(pr.Records, rec)
	pr.names.add(pos, pr.byName)
	pr.created.add(pos, pr.byCreated)
	pr.terms.add(pos, rec)
	pr.added(pos)
	ix.at = put(ix.at, slot, recordAt{project: pr.num, pos: uint32(pos)})
	ix.count++
}

// position is where key id's record sits in pr, if it does; the index's
// lock is held.
func (pr *projectRecords) position(id domain.KeyID) (int, bool) {
	slot, ok := pr.ix.table.Slot(id)
	if !ok {
		return 0, false
	}
	where := at(pr.ix.at, slot)
	if where.project != pr.num {
		return 0, false
	}
	return int(where.pos), true
}

// Records appends to buf the records of project pr of tenant t, oldest
// first: a copy of their pointers, the only work done under the lock. The
// records never change (see KeyIndex), so the caller reads them without
// it, for as long as it likes; it must not modify them.
func (ix *KeyIndex) Records(t domain.TenantID, pr domain.ProjectID, buf []*KeyRecord) []*KeyRecord {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf
	}
	return append(buf, p.Records...)
}

// Name of the index in snapshots and digests (its digest is DigestOf's:
// the SHA-256 of its snapshot). Version 1 was JSON (keyIndexV1), version
// 2 without the projects' indexes (keyIndexV2).
func (ix *KeyIndex) Name() string { return "keyindex@3" }

// Snapshot encodes the index canonically: projects sorted by id, records
// in their creation order, then their indexes (keyindex_snapshot.go). The
// read lock is held only to copy the projects' views (indexView).
func (ix *KeyIndex) Snapshot() ([]byte, error) {
	ix.mu.RLock()
	ids := sortedKeys(ix.projects)
	views := make([]*indexView, len(ids))
	for i, id := range ids {
		views[i] = ix.projects[id].view(id)
	}
	count := ix.count
	ix.mu.RUnlock()
	return encodeKeyIndex(views, count), nil
}

// Restore replaces the index with a snapshot's.
func (ix *KeyIndex) Restore(b []byte) error { return ix.restoreLate(b, func() {}) }

// restoreLate is Restore, which calls placed once it has decoded b and
// before it places the keys in the table (lateKeyPlacer).
func (ix *KeyIndex) restoreLate(b []byte, placed func()) error {
	return ix.restoreBinary(b, true, placed)
}

// restoreBinary restores a binary snapshot, with its projects' indexes
// (keyindex@3) or without (keyindex@2), calling placed as restoreLate.
func (ix *KeyIndex) restoreBinary(b []byte, withIndexes bool, placed func()) error {
	var strs stringInterner
	projects, err := decodeKeyIndex(b, &strs, withIndexes)
	if err != nil {
		return err
	}
	placed()
	return ix.restored(projects, strs)
}

// keyIndexV1 and keyIndexV2 are the names of the index's older snapshots,
// which it restores still (Upgrader): JSON, and binary without indexes.
const (
	keyIndexV1 = "keyindex@1"
	keyIndexV2 = "keyindex@2"
)

// keyRecordV1 is a record in a keyindex@1 snapshot.
type keyRecordV1 struct {
	ID            domain.KeyID          `json:"id"`
	Name          string                `json:"name"`
	User          string                `json:"user"`
	Realm         string                `json:"realm"`
	Created       int64                 `json:"created"`
	Expires       int64                 `json:"expires,omitempty"`
	Invalidated   bool                  `json:"invalidated,omitempty"`
	CrossCluster  bool                  `json:"cross_cluster,omitempty"`
	InvalidatedAt int64                 `json:"invalidated_at,omitempty"`
	Metadata      []domain.MetadataLeaf `json:"metadata,omitempty"`
}

// Older are the older snapshot versions the index restores.
func (ix *KeyIndex) Older() []string { return []string{keyIndexV2, keyIndexV1} }

// RestoreOlder restores a snapshot of version 2 (binary, its indexes
// then left to their first reader) or 1 (JSON, projects by id).
func (ix *KeyIndex) RestoreOlder(name string, b []byte) error {
	if name == keyIndexV2 {
		return ix.restoreBinary(b, false, func() {})
	}
	if name != keyIndexV1 {
		return fmt.Errorf("keyindex cannot restore %s", name)
	}
	var v1 map[domain.ProjectID]struct {
		Tenant  domain.TenantID `json:"tenant"`
		Records []*keyRecordV1  `json:"records"`
	}
	if err := json.Unmarshal(b, &v1); err != nil {
		return err
	}
	var strs stringInterner
	projects := make([]restoredProject, 0, len(v1))
	for id, p := range v1 {
		pr := &projectRecords{Tenant: p.Tenant, Records: make([]*KeyRecord, len(p.Records))}
		for i, r := range p.Records {
			if r == nil {
				return fmt.Errorf("keyindex snapshot: project %s holds a null record", id)
			}
			pr.Records[i] = &KeyRecord{ID: r.ID, Name: r.Name, owner: strs.owner(r.User, r.Realm), Created: r.Created, Expires: r.Expires,
				InvalidatedAt: r.InvalidatedAt, Metadata: strs.share(r.Metadata), Invalidated: r.Invalidated, CrossCluster: r.CrossCluster}
		}
		pr.lazy()
		projects = append(projects, restoredProject{id: id, pr: pr})
	}
	return ix.restored(projects, strs)
}

// restored replaces the index with projects, as a snapshot holds them,
// their strings interned in strs: records placed by slot, ids shared with
// the key table, indexes as the snapshot gave them (read, or left to
// their first reader).
func (ix *KeyIndex) restored(projects []restoredProject, strs stringInterner) error {
	fresh := NewKeyIndexIn(ix.table)
	fresh.strs = strs
	type placed struct {
		p   *restoredProject
		pos uint32
	}
	total := 0
	for _, p := range projects {
		total += len(p.pr.Records)
	}
	all := make([]placed, 0, total)
	for k := range projects {
		p := &projects[k]
		fresh.projects[p.id] = p.pr
		fresh.number(p.pr)
		for i, r := range p.pr.Records {
			if r == nil {
				return fmt.Errorf("keyindex snapshot: project %s holds a null record", p.id)
			}
			all = append(all, placed{p, uint32(i)})
		}
	}
	place := func(i int, slot uint32) {
		if at(fresh.at, slot).project == 0 {
			fresh.count++
		}
		fresh.at = put(fresh.at, slot, recordAt{project: all[i].p.pr.num, pos: all[i].pos})
	}
	record := func(i int) *KeyRecord { return all[i].p.pr.Records[all[i].pos] }
	ix.table.Reserve(len(all))
	// Room for every slot the table has given, so that put does not
	// reallocate it as it grows.
	fresh.at = make([]recordAt, 0, max(total, ix.table.Len()))
	if len(projects) > 0 && projects[0].ids != nil { // ids as bytes
		ix.table.resolveBytes(len(all), func(i int) []byte { return all[i].p.ids[all[i].pos] }, func(i int, slot uint32) {
			record(i).ID = ix.table.ids[slot] // the table's lock is held
			place(i, slot)
		})
	} else {
		ix.table.resolveShared(len(all), func(i int) *domain.KeyID { return &record(i).ID }, func(start int, slots []uint32) {
			for i, slot := range slots {
				place(start+i, slot)
			}
		})
	}
	ix.mu.Lock()
	ix.projects, ix.list, ix.at, ix.count, ix.strs = fresh.projects, fresh.list, fresh.at, fresh.count, fresh.strs
	for _, pr := range ix.list {
		pr.ix = ix
	}
	ix.mu.Unlock()
	return nil
}

// Len is the number of indexed keys.
func (ix *KeyIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.count
}
