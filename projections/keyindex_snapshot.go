package projections

import (
	"fmt"

	"github.com/keyplane/keyplane/domain"
)

// The key index's snapshot (keyindex@2): its projects sorted by id, each
// its id, tenant and records in creation order, each record's fields in
// binary, tenants, owners and metadata paths by symbol. Version 1 was the
// same state in JSON, which took 3 to 5 µs a key to restore.

const (
	recInvalidated = 1 << iota
	recCrossCluster
)

// encode writes the index; ix.mu is held.
func (ix *KeyIndex) encode() []byte {
	ids := sortedKeys(ix.projects)
	w := writer{buf: make([]byte, 0, 16+ix.count*64)}
	w.uint(uint64(len(ids)))
	for _, id := range ids {
		pr := ix.projects[id]
		w.str(string(id))
		w.sym(string(pr.Tenant))
		w.uint(uint64(len(pr.Records)))
		for _, r := range pr.Records {
			w.keyRecord(r)
		}
	}
	return w.buf
}

func (w *writer) keyRecord(r *KeyRecord) {
	w.str(string(r.ID))
	w.str(r.Name)
	w.sym(r.User())
	w.sym(r.Realm())
	w.int(r.Created)
	w.int(r.Expires)
	flags := uint64(0)
	if r.Invalidated {
		flags |= recInvalidated
	}
	if r.CrossCluster {
		flags |= recCrossCluster
	}
	w.uint(flags)
	w.int(r.InvalidatedAt)
	w.uint(uint64(len(r.Metadata)))
	for _, l := range r.Metadata {
		w.sym(l.Path)
		w.str(l.Value)
	}
}

// decodeKeyIndex reads what encode wrote, sharing repeated strings
// through strs. A project's records are allocated at once.
func decodeKeyIndex(b []byte, strs *stringInterner) (map[domain.ProjectID]*projectRecords, error) {
	r := reader{buf: b}
	n := r.countOf(3) // a project's id, tenant and count: a byte each at least
	projects := make(map[domain.ProjectID]*projectRecords, n)
	for range n {
		id := domain.ProjectID(r.str())
		pr := &projectRecords{Tenant: domain.TenantID(r.sym())}
		m := r.countOf(9) // a record's nine fields: a byte each at least
		slab := make([]KeyRecord, m)
		pr.Records = make([]*KeyRecord, m)
		for i := range slab {
			r.keyRecord(&slab[i], strs)
			pr.Records[i] = &slab[i]
		}
		if _, dup := projects[id]; dup {
			return nil, fmt.Errorf("keyindex snapshot: project %s twice", id)
		}
		projects[id] = pr
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return projects, nil
}

func (r *reader) keyRecord(rec *KeyRecord, strs *stringInterner) {
	rec.ID, rec.Name = domain.KeyID(r.str()), r.str()
	rec.owner = strs.owner(r.sym(), r.sym())
	rec.Created, rec.Expires = r.int(), r.int()
	flags := r.uint()
	rec.Invalidated, rec.CrossCluster = flags&recInvalidated != 0, flags&recCrossCluster != 0
	rec.InvalidatedAt = r.int()
	if k := r.countOf(2); k > 0 {
		leaves := make([]domain.MetadataLeaf, k)
		for i := range leaves {
			pv := strs.path(r.sym())
			leaves[i] = domain.MetadataLeaf{Path: pv.path, Value: pv.valueOf(r.bytes())}
		}
		rec.Metadata = strs.share(leaves)
	}
}
