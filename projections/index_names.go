package projections

import (
	"cmp"

	"github.com/keyplane/keyplane/domain"
)

// byName orders the project's records by name, then id (a name and an id
// never change: the order of two records never does).
func (pr *projectRecords) byName(a, b int32) int {
	ra, rb := pr.Records[a], pr.Records[b]
	if c := cmp.Compare(ra.Name, rb.Name); c != 0 {
		return c
	}
	return cmp.Compare(ra.ID, rb.ID)
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
// f.Name, from the name index, when the pattern starts with a literal;
// else all of the tenant's (a scan). Either way in the order they were
// added, so the answer is the same.
func (ks *Keys) candidates(f Filter) []*domain.Key {
	prefix := LiteralPrefix(f.Name)
	if prefix == "" {
		return ks.snapshotOf(f.Tenant)
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	list := ks.byTenant[f.Tenant]
	if list == nil {
		return nil
	}
	pos := list.names.prefixed(prefix, func(i int32) string { return list.keys[i].Name }, nil)
	out := make([]*domain.Key, len(pos))
	for i, p := range pos {
		out[i] = list.keys[p]
	}
	return out
}

// Indexed reports whether List answers f from an index rather than by
// reading every key of the tenant (for the debug log of a scan).
func (f Filter) Indexed() bool { return LiteralPrefix(f.Name) != "" }
