package projections

import (
	"slices"
	"sync"

	"github.com/keyplane/keyplane/domain"
)

// maxTermsPerField bounds the distinct values a field's postings keep: a
// field with more (an id per key in metadata) would cost a map entry a
// key; past the bound the field is kept sorted instead (wideIndex), which
// answers its terms and existence, and its other queries scan.
const maxTermsPerField = 4096

// termIndex maps each exact-match field of a project's records (username,
// realm_name, metadata.<path>, as the query API names them) and value to
// the positions of the records holding it. A record's metadata can change
// (an update): its new values are added, its old ones stay behind, so a
// posting may name a record that no longer holds the value; the query
// filters what its candidates hold, and a posting is never missing one.
// Lazy after a restore, as orderedIndex.
type termIndex struct {
	fields map[string]map[string][]int32
	// wide are the fields over maxTermsPerField, dropped from fields and
	// kept sorted instead (index_wide.go).
	wide map[string]*wideIndex
	// building is set while ready builds: a wide index sorts once at the end.
	building bool
	mu       sync.Mutex
	unbuilt  bool
}

// add indexes the record r at pos (nothing while unbuilt).
func (x *termIndex) add(pos int32, r *KeyRecord) {
	if x.unbuilt {
		return
	}
	x.put("username", r.User(), pos)
	x.put("realm_name", r.Realm(), pos)
	if r.CrossCluster { // the few cross-cluster keys; "rest" is every other
		x.put("type", domain.ESTypeCrossCluster, pos)
	}
	x.addMetadata(pos, r.Metadata)
}

// addMetadata indexes leaves, the metadata of the record at pos.
func (x *termIndex) addMetadata(pos int32, leaves []domain.MetadataLeaf) {
	if x.unbuilt {
		return
	}
	for _, l := range leaves {
		x.put("metadata."+l.Path, l.Value, pos)
	}
}

func (x *termIndex) put(field, value string, pos int32) {
	if w := x.wide[field]; w != nil {
		w.add(value, pos)
		return
	}
	x.made()
	values := x.fields[field]
	if values == nil {
		values = map[string][]int32{}
		x.fields[field] = values
	}
	if _, ok := values[value]; !ok && len(values) >= maxTermsPerField {
		x.wide[field] = widen(values, x.building)
		x.wide[field].add(value, pos)
		delete(x.fields, field)
		return
	}
	values[value] = append(values[value], pos)
}

// made makes the maps of an index that has none yet.
func (x *termIndex) made() {
	if x.fields == nil {
		x.fields, x.wide = map[string]map[string][]int32{}, map[string]*wideIndex{}
	}
}

func (x *termIndex) lazy() { x.fields, x.wide, x.unbuilt = nil, nil, true }

// ready builds a lazy index from records; a reader calls it under the
// owner's read lock.
func (x *termIndex) ready(records []*KeyRecord) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.unbuilt {
		return
	}
	x.unbuilt, x.building = false, true
	for i, r := range records {
		x.add(int32(i), r)
	}
	for _, w := range x.wide {
		w.settle()
	}
	x.building = false
}

// positions appends the positions of the records holding any of values in
// field, ascending and once each; ok is false when the field is not
// indexed (over maxTermsPerField), and a scan must answer.
func (x *termIndex) positions(field string, values []string, buf []int32) ([]int32, bool) {
	if x.wide[field] != nil {
		return buf, false
	}
	start := len(buf)
	for _, v := range values {
		buf = append(buf, x.fields[field][v]...)
	}
	slices.Sort(buf[start:])
	return slices.Compact(buf), true
}

// RecordsWithTerms is Records restricted to the records whose field holds
// one of values (username, realm_name or metadata.<path>), from the term
// index, in creation order; ok is false when the field is not indexed.
func (ix *KeyIndex) RecordsWithTerms(t domain.TenantID, pr domain.ProjectID, field string, values []string, buf []*KeyRecord) ([]*KeyRecord, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.projects[pr]
	if !ok || p.Tenant != t {
		return buf, true
	}
	p.terms.ready(p.Records)
	pos, ok := p.terms.positions(field, values, nil)
	if !ok {
		return buf, false
	}
	for _, i := range pos {
		buf = append(buf, p.Records[i])
	}
	return buf, true
}
