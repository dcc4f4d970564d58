package projections

import (
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// The key index's snapshot (keyindex@3): its projects sorted by id, each
// its id, tenant and records in creation order, each record's fields in
// binary, tenants, owners and metadata paths by symbol, then the
// project's indexes (index_snapshot.go). Version 2 was the same without
// the indexes (built by their first reader after a restore); version 1
// the records in JSON, which took 3 to 5 µs a key to restore.

const (
	recInvalidated = 1 << iota
	recCrossCluster
)

// encodeKeyIndex writes views, the index's projects sorted by id, of count keys
// in all (the lock is not held: see indexView).
func encodeKeyIndex(views []*indexView, count int) []byte {
	w := writer{buf: make([]byte, 0, 16+count*80)}
	w.uint(uint64(len(views)))
	for _, v := range views {
		w.str(string(v.id))
		w.sym(string(v.pr.Tenant))
		w.uint(uint64(len(v.pr.Records)))
		for _, r := range v.pr.Records {
			w.keyRecord(r)
		}
		w.indexes(v)
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

// restoredProject is a project as a snapshot holds it; ids, when set, are
// its records' ids as the snapshot's bytes (the records' ID fields then
// empty): placed in the key table, they take the table's copy.
type restoredProject struct {
	id  domain.ProjectID
	pr  *projectRecords
	ids [][]byte
}

// decodeKeyIndex reads what encodeKeyIndex wrote, sharing repeated strings
// through strs. A project's records are allocated at once, and its names
// in one string; its ids are left as bytes (restoredProject).
// With withIndexes (keyindex@3) its indexes follow a project's records;
// without (keyindex@2), they are left to their first reader.
func decodeKeyIndex(b []byte, strs *stringInterner, withIndexes bool) ([]restoredProject, error) {
	r := reader{buf: b}
	n := r.countOf(3) // a project's id, tenant and count: a byte each at least
	projects := make([]restoredProject, 0, n)
	seen := make(map[domain.ProjectID]bool, n)
	for range n {
		id := domain.ProjectID(r.str())
		pr := &projectRecords{Tenant: domain.TenantID(r.sym())}
		m := r.countOf(9) // a record's nine fields: a byte each at least
		slab := make([]KeyRecord, m)
		pr.Records = make([]*KeyRecord, m)
		ids, names := make([][]byte, m), make([][]byte, m)
		for i := range slab {
			ids[i], names[i] = r.bytes(), r.bytes()
			r.keyRecord(&slab[i], strs)
			pr.Records[i] = &slab[i]
		}
		setNames(slab, names)
		if withIndexes {
			r.projectIndexes(pr, ids)
		} else {
			pr.lazy()
		}
		if seen[id] {
			return nil, fmt.Errorf("keyindex snapshot: project %s twice", id)
		}
		seen[id] = true
		projects = append(projects, restoredProject{id, pr, ids})
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return projects, nil
}

// joinBytes is parts in one string, copied once.
func joinBytes(parts [][]byte) string {
	var all strings.Builder
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	all.Grow(total)
	for _, p := range parts {
		all.Write(p)
	}
	return all.String()
}

// setNames gives the records their names, slices of one string: one
// allocation for a project's names, not one a key.
func setNames(recs []KeyRecord, names [][]byte) {
	joined, at := joinBytes(names), 0
	for i, n := range names {
		recs[i].Name = joined[at : at+len(n)]
		at += len(n)
	}
}

// keyRecord reads a record's fields after its id and name.
func (r *reader) keyRecord(rec *KeyRecord, strs *stringInterner) {
	user, realm := r.sym(), r.sym()
	// The record's first touch is a write, not the read of a pointer
	// store's nil check (see decodeRec).
	rec.Created, rec.Expires = r.int(), r.int()
	rec.owner = strs.owner(user, realm)
	flags := r.uint()
	rec.Invalidated, rec.CrossCluster = flags&recInvalidated != 0, flags&recCrossCluster != 0
	rec.InvalidatedAt = r.int()
	if k := r.countOf(2); k > 0 {
		leaves := make([]domain.MetadataLeaf, k)
		shareable := k <= len(leafSet{})
		for i := range leaves {
			path, value := r.sym(), r.bytes()
			var few bool
			leaves[i], few = strs.leaf(i, path, func(pv *pathValues) string { return pv.valueOf(value) })
			shareable = shareable && few
		}
		rec.Metadata = strs.shareSet(leaves, shareable)
	}
}
