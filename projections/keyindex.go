package projections

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// KeyRecord is what a query over many keys reads of one project key: the
// fields Elasticsearch's query API key API can match and sort on. Times are
// Unix milliseconds, 0 for none.
type KeyRecord struct {
	ID            domain.KeyID `json:"id"`
	Name          string       `json:"name"`
	User          string       `json:"user"`
	Realm         string       `json:"realm"`
	Created       int64        `json:"created"`
	Expires       int64        `json:"expires,omitempty"`
	Invalidated   bool         `json:"invalidated,omitempty"`
	CrossCluster  bool         `json:"cross_cluster,omitempty"` // type cross_cluster, not rest
	InvalidatedAt int64        `json:"invalidated_at,omitempty"`
	// Metadata is flattened as Elasticsearch indexes it, paths interned:
	// matching "metadata.team" compares a few strings, no map walk.
	Metadata []domain.MetadataLeaf `json:"metadata,omitempty"`
}

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
type KeyIndex struct {
	mu       sync.RWMutex
	projects map[domain.ProjectID]*projectRecords
	where    map[domain.KeyID]domain.ProjectID
	paths    map[string]string // interned metadata paths
}

type projectRecords struct {
	Tenant  domain.TenantID      `json:"tenant"`
	Records []*KeyRecord         `json:"records"`
	pos     map[domain.KeyID]int // index in Records
	// names orders Records by name, created by creation (index_names.go).
	names, created orderedIndex
	// terms are the exact-match fields' values (index_terms.go).
	terms termIndex
	// ord orders Records by owner, expiration, invalidation (index_order.go).
	ord recordOrders
}

// NewKeyIndex returns an empty index.
func NewKeyIndex() *KeyIndex {
	return &KeyIndex{projects: map[domain.ProjectID]*projectRecords{}, where: map[domain.KeyID]domain.ProjectID{},
		paths: map[string]string{}}
}

func (ix *KeyIndex) intern(p string) string {
	if q, ok := ix.paths[p]; ok {
		return q
	}
	ix.paths[p] = p
	return p
}

// Apply folds key events.
func (ix *KeyIndex) Apply(ev domain.Event) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.apply(ev)
}

// ApplyAll folds a run of events (BatchApplier).
func (ix *KeyIndex) ApplyAll(evs []domain.Event) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return applyEach(evs, ix.apply)
}

// apply folds one event; ix.mu is held.
func (ix *KeyIndex) apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	id := domain.KeyID(ev.AggID)
	if c, ok := p.(domain.KeyCreated); ok {
		ix.create(ev, c)
		return nil
	}
	old := ix.record(id)
	if old == nil {
		return nil // an organization-level key
	}
	r := new(KeyRecord)
	*r = **old
	switch x := p.(type) {
	case domain.KeyUpdated:
		if x.Metadata != nil {
			r.Metadata = domain.FlattenMetadata(*x.Metadata, ix.intern)
			pr := ix.projects[ix.where[id]]
			pr.terms.addMetadata(int32(pr.pos[id]), r.Metadata)
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
	ix.changed(id, *old, r)
	*old = r // replaced, not changed: queries may be reading the old one
	return nil
}

func (ix *KeyIndex) create(ev domain.Event, c domain.KeyCreated) {
	if c.Scope != domain.ScopeProject {
		return
	}
	pr := ix.projects[c.Project]
	if pr == nil {
		pr = &projectRecords{Tenant: ev.Tenant, pos: map[domain.KeyID]int{}}
		ix.projects[c.Project] = pr
	}
	rec := &KeyRecord{ID: c.KeyID, Name: c.Name, User: c.Owner.User, Realm: c.Owner.Realm, Created: ev.Time.UnixMilli(),
		CrossCluster: c.Type == domain.KeyCrossCluster, Metadata: domain.FlattenMetadata(c.Metadata, ix.intern)}
	if c.Expires != nil {
		rec.Expires = c.Expires.UnixMilli()
	}
	pr.pos[c.KeyID] = len(pr.Records)
	pr.Records = append(pr.Records, rec)
	pr.names.add(int32(len(pr.Records)-1), pr.byName)
	pr.created.add(int32(len(pr.Records)-1), pr.byCreated)
	pr.terms.add(int32(len(pr.Records)-1), rec)
	pr.added(int32(len(pr.Records) - 1))
	ix.where[c.KeyID] = c.Project
}

// record is where key id's record sits, nil for keys not indexed.
func (ix *KeyIndex) record(id domain.KeyID) **KeyRecord {
	pr, ok := ix.projects[ix.where[id]]
	if !ok {
		return nil
	}
	i, ok := pr.pos[id]
	if !ok {
		return nil
	}
	return &pr.Records[i]
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
// the SHA-256 of its snapshot).
func (ix *KeyIndex) Name() string { return "keyindex@1" }

// Snapshot encodes the index canonically: projects sorted by id (JSON sorts
// map keys), records in their creation order.
func (ix *KeyIndex) Snapshot() ([]byte, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return json.Marshal(ix.projects)
}

// Restore replaces the index with a snapshot's.
func (ix *KeyIndex) Restore(b []byte) error {
	projects := map[domain.ProjectID]*projectRecords{}
	if err := json.Unmarshal(b, &projects); err != nil {
		return err
	}
	fresh := NewKeyIndex()
	for id, pr := range projects {
		pr.pos = make(map[domain.KeyID]int, len(pr.Records))
		for i, r := range pr.Records {
			if r == nil {
				return fmt.Errorf("keyindex snapshot: project %s holds a null record", id)
			}
			pr.pos[r.ID] = i
			fresh.where[r.ID] = id
			for j := range r.Metadata {
				r.Metadata[j].Path = fresh.intern(r.Metadata[j].Path)
			}
		}
	}
	for _, pr := range projects {
		pr.names.lazy()
		pr.created.lazy()
		pr.terms.lazy()
		pr.ord.lazy()
	}
	ix.mu.Lock()
	ix.projects, ix.where, ix.paths = projects, fresh.where, fresh.paths
	ix.mu.Unlock()
	return nil
}

// Len is the number of indexed keys.
func (ix *KeyIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.where)
}
