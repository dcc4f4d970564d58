package projections

import "github.com/keyplane/keyplane/domain"

// maxInternedValues bounds the distinct values of one metadata path the
// key index shares: past it (an id per key) the path's values are no longer
// shared, and its table is dropped, so it costs no more than its strings.
const maxInternedValues = 4096

// stringInterner shares the strings many records of the key index repeat:
// owners' names and realms, metadata paths, and the values of metadata
// paths that have few (a team, an environment). One copy of "team-7"
// then serves every key of the team instead of one string per key.
type stringInterner struct {
	owners map[recordOwner]*recordOwner
	paths  map[string]*pathValues
	sets   map[leafSet][]domain.MetadataLeaf
	// lastOwner and lastPaths are the owner and the paths (by leaf) last
	// asked for: a restore reads runs of keys of one owner, with metadata
	// of one shape, and finds them there without hashing.
	lastOwner *recordOwner
	lastPaths [len(leafSet{})]*pathValues
}

// pathValues are the interned values of one metadata path; nil once it
// has held more than maxInternedValues.
type pathValues struct {
	path   string
	values map[string]string
}

// owner is the shared record owner user of realm.
func (in *stringInterner) owner(user, realm string) *recordOwner {
	if q := in.lastOwner; q != nil && q.user == user && q.realm == realm {
		return q
	}
	o := recordOwner{user, realm}
	if q, ok := in.owners[o]; ok {
		in.lastOwner = q
		return q
	}
	if in.owners == nil {
		in.owners = map[recordOwner]*recordOwner{}
	}
	q := &o
	in.owners[o] = q
	in.lastOwner = q
	return q
}

// leafPath is path for the path of a record's i-th metadata leaf.
func (in *stringInterner) leafPath(i int, p string) *pathValues {
	if i >= len(in.lastPaths) {
		return in.path(p)
	}
	if pv := in.lastPaths[i]; pv != nil && pv.path == p {
		return pv
	}
	pv := in.path(p)
	in.lastPaths[i] = pv
	return pv
}

// path is p's entry, created the first time.
func (in *stringInterner) path(p string) *pathValues {
	if pv, ok := in.paths[p]; ok {
		return pv
	}
	if in.paths == nil {
		in.paths = map[string]*pathValues{}
	}
	pv := &pathValues{path: p, values: map[string]string{}}
	in.paths[p] = pv
	return pv
}

// value is v, shared with earlier equal values of the path when it has few.
func (pv *pathValues) value(v string) string {
	if pv.values == nil {
		return v
	}
	if q, ok := pv.values[v]; ok {
		return q
	}
	if len(pv.values) >= maxInternedValues {
		pv.values = nil // an id-like path: nothing to share
		return v
	}
	pv.values[v] = v
	return v
}

// maxSharedSets bounds the distinct metadata sets the key index shares.
const maxSharedSets = 4096

// leafSet is a metadata set of up to four leaves, all of them interned:
// a map key without an allocation.
type leafSet [4]domain.MetadataLeaf

// leaves flattens metadata (domain.FlattenMetadata) into a slice of
// exactly its length, paths and few-valued values shared, and the whole
// slice shared with every key of equal metadata when its values are all
// few-valued ({"team": "a", "env": "prod"}).
func (in *stringInterner) leaves(m map[string]any) []domain.MetadataLeaf {
	return in.share(domain.FlattenMetadata(m, nil))
}

// share interns the strings of flat, a slice the caller gives up, and
// returns it or an equal one: shared (leafSet), or of exactly its length.
// nil for none.
func (in *stringInterner) share(flat []domain.MetadataLeaf) []domain.MetadataLeaf {
	if len(flat) == 0 {
		return nil
	}
	shareable := len(flat) <= len(leafSet{})
	for i, l := range flat {
		var few bool
		flat[i], few = in.leaf(i, l.Path, func(pv *pathValues) string { return pv.value(l.Value) })
		shareable = shareable && few
	}
	return in.shareSet(flat, shareable)
}

// leaf is a record's i-th metadata leaf, its path and its value (value's)
// interned, and whether the path has few values: a leaf set holding it
// can be shared.
func (in *stringInterner) leaf(i int, path string, value func(*pathValues) string) (domain.MetadataLeaf, bool) {
	pv := in.leafPath(i, path)
	interning := pv.values != nil
	v := value(pv)
	if interning && pv.values == nil {
		in.sets = nil // sets holding an id-like path share nothing: start again
	}
	return domain.MetadataLeaf{Path: pv.path, Value: v}, pv.values != nil
}

// shareSet is share for leaves whose strings are interned already;
// shareable says whether all their paths have few values.
func (in *stringInterner) shareSet(flat []domain.MetadataLeaf, shareable bool) []domain.MetadataLeaf {
	var key leafSet
	copy(key[:], flat)
	if shareable {
		if set, ok := in.sets[key]; ok {
			return set
		}
	}
	out := flat
	if cap(flat) != len(flat) {
		out = append([]domain.MetadataLeaf(nil), flat...)
	}
	if shareable && len(in.sets) < maxSharedSets {
		if in.sets == nil {
			in.sets = map[leafSet][]domain.MetadataLeaf{}
		}
		in.sets[key] = out
	}
	return out
}

// valueOf is value for a value in bytes, which it copies only when the
// path does not hold it already.
func (pv *pathValues) valueOf(b []byte) string {
	if q, ok := pv.values[string(b)]; ok {
		return q
	}
	return pv.value(string(b))
}
