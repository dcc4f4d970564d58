package projections

import (
	"cmp"
	"slices"

	"github.com/keyplane/keyplane/domain"
)

// byName orders the project's records by name, then creation, then id
// (none of them ever changes: the order of two records never does), as a
// query sorted by name ranks them (RecordsInOrder).
func (pr *projectRecords) byName(a, b int32) int {
	if c := cmp.Compare(pr.Records[a].Name, pr.Records[b].Name); c != 0 {
		return c
	}
	return pr.byCreated(a, b)
}

// RecordsNamed is Records restricted to the records whose name starts
// with prefix, read from the name index: the work follows the records
// that match, not the project's size. They come in creation order, as
// Records gives them.
func (ix *KeyIndex) RecordsNamed(t domain.TenantID, pr domain.ProjectID, prefix string, buf []*KeyRecord) []*KeyRecord {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf
	}
	p.names.ready(len(p.Records), p.byName)
	for _, pos := range p.names.prefixed(prefix, func(i int32) string { return p.Records[i].Name }, nil) {
		buf = append(buf, p.Records[pos])
	}
	return buf
}

// byName orders a tenant's keys by name, then id.
func (l *tenantKeys) byName(a, b int32) int {
	ka, kb := l.keys[a], l.keys[b]
	if c := cmp.Compare(ka.Name, kb.Name); c != 0 {
		return c
	}
	return cmp.Compare(ka.ID, kb.ID)
}

// candidates are the keys List looks at for f: those whose name can match
// f.Name, from the name index, when the pattern starts with a literal,
// or those of f.Owner, from the owner index, whichever are fewer; else
// all of the tenant's (a scan). named says they came from the name index
// and the pattern is that literal prefix and '*': they are then exactly
// the keys whose name matches.
func (ks *Keys) candidates(f Filter) (cands []*keyRec, named bool) {
	if !f.Indexed() {
		return ks.snapshotOf(f.Tenant), false
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	list := ks.byTenant[f.Tenant]
	if list == nil {
		return nil, false
	}
	var pos []int32
	if f.Owner != "" {
		list.owners.ready(list.keys)
		pos = list.owners.of(f.Owner)
	}
	if prefix := LiteralPrefix(f.Name); prefix != "" {
		name := func(i int32) string { return list.keys[i].Name }
		list.names.ready(len(list.keys), list.byName)
		if f.Owner == "" || list.names.fewerPrefixed(prefix, len(pos), name) {
			// Any order: List puts its matches in its own total order.
			pos, named = list.names.prefixedAnyOrder(prefix, name, nil), f.Name == prefix+"*"
		}
	}
	cands = make([]*keyRec, len(pos))
	for i, p := range pos {
		cands[i] = list.keys[p]
	}
	return cands, named
}

// Indexed reports whether List answers f from an index rather than by
// reading every key of the tenant (for the debug log of a scan).
func (f Filter) Indexed() bool { return LiteralPrefix(f.Name) != "" || f.Owner != "" }

// byCreated orders the project's records by creation, then id.
func (pr *projectRecords) byCreated(a, b int32) int {
	if c := pr.sameCreation(a, b); c != 0 {
		return c
	}
	return cmp.Compare(pr.Records[a].ID, pr.Records[b].ID)
}

// sameCreation compares creation alone: 0 for keys created in the same
// millisecond, whose order a query breaks its own way.
func (pr *projectRecords) sameCreation(a, b int32) int {
	return cmp.Compare(pr.Records[a].Created, pr.Records[b].Created)
}

// RecordsAtEnds is Records restricted to the records that can be among the
// k oldest (newest, with newest) of the project, read from the creation
// index, and the number of records of the project: a query for every key
// sorted by creation reads its page, not the project. Ties in the
// millisecond of the k-th come too; the caller breaks them. In creation
// order, as Records gives them.
func (ix *KeyIndex) RecordsAtEnds(t domain.TenantID, pr domain.ProjectID, k int, newest bool, buf []*KeyRecord) ([]*KeyRecord, int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf, 0
	}
	p.created.ready(len(p.Records), p.byCreated)
	for _, pos := range p.created.ends(k, newest, p.sameCreation, nil) {
		buf = append(buf, p.Records[pos])
	}
	return buf, len(p.Records)
}

// RecordsWithIDs is Records restricted to the records of the given ids
// (each looked up; ids of other projects or none are skipped), in
// creation order as Records gives them.
func (ix *KeyIndex) RecordsWithIDs(t domain.TenantID, pr domain.ProjectID, ids []string, buf []*KeyRecord) []*KeyRecord {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf
	}
	pos := make([]int, 0, len(ids))
	for _, id := range ids {
		if i, ok := p.position(domain.KeyID(id)); ok {
			pos = append(pos, i)
		}
	}
	slices.Sort(pos)
	pos = slices.Compact(pos) // an id named twice is one record
	for _, i := range pos {
		buf = append(buf, p.Records[i])
	}
	return buf
}
