package projections

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Keys is the key list: every key aggregate's current state, by id and by
// tenant. The command side reads its aggregates from here too, so the
// request path never re-reads history from the stream.
type Keys struct {
	mu    sync.RWMutex
	table *KeyTable
	// refs are the keys by slot (KeyTable); a zero keyRef is no key.
	refs  []keyRef
	count int
	slots []uint32 // ApplyAll's scratch (KeyTable.foldRun)
	// byTenant lists each tenant's keys. Listing is all it is for, and an
	// append costs a fold less than a map insert: with a map per tenant,
	// the insert was a quarter of a replay's folding.
	byTenant map[domain.TenantID]*tenantKeys
	// restoring: add leaves the name indexes to Restore, which leaves them
	// to their first reader (orderedIndex.lazy).
	restoring bool
}

// tenantKeys are one tenant's keys, in the order they were added, and
// that order by name (index_names.go).
type tenantKeys struct {
	keys  []*domain.Key
	names orderedIndex
}

// keyRef is a key and its place in its tenant's list, where a later
// version of the key replaces it.
type keyRef struct {
	key  *domain.Key
	list *tenantKeys
	pos  int
}

// NewKeys returns an empty key list with a key table of its own.
func NewKeys() *Keys { return NewKeysIn(NewKeyTable()) }

// NewKeysIn returns an empty key list numbering keys in table t, which it
// may share with other projections.
func NewKeysIn(t *KeyTable) *Keys {
	return &Keys{table: t, byTenant: map[domain.TenantID]*tenantKeys{}}
}

// Reserve makes room for n keys in an empty list, before a bulk fold: a
// map grown one doubling at a time rehashes every key it holds each time.
func (ks *Keys) Reserve(n int) {
	ks.table.Reserve(n)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if len(ks.refs) == 0 {
		ks.refs = make([]keyRef, 0, n)
	}
}

// Apply folds key events and key usage records; other aggregates are
// ignored.
func (ks *Keys) Apply(ev domain.Event) error {
	if !isKeyEvent(ev) {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.apply(ev, ks.table.slotFor(domain.KeyID(ev.AggID)))
}

// ApplyAll folds a run of events (BatchApplier).
func (ks *Keys) ApplyAll(evs []domain.Event) (int, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.table.foldRun(evs, &ks.slots, ks.apply)
}

// apply folds one event about the key in slot; ks.mu is held.
func (ks *Keys) apply(ev domain.Event, slot uint32) error {
	if !isKeyEvent(ev) {
		return nil
	}
	// Fold into a copy that replaces the key: a failed apply leaves the old
	// state in place, and a *domain.Key, once in the list, never changes
	// (a snapshot captures pointers and encodes them later: Capture).
	next := new(domain.Key)
	ref := at(ks.refs, slot)
	ok := ref.key != nil
	if ok {
		*next = *ref.key
	}
	if ev.AggType == domain.AggKeyUse {
		if !ok || ref.key.Tenant != ev.Tenant {
			return nil // no such key here: a usage record never makes one
		}
		if err := next.NoteUse(ev); err != nil {
			return err
		}
	} else if err := next.Apply(ev); err != nil {
		return err
	}
	if ok {
		ref.list.keys[ref.pos] = next
	} else {
		ref = ks.add(ev.Tenant, next)
	}
	ref.key = next
	ks.refs = put(ks.refs, slot, ref)
	if !ok {
		ks.count++
	}
	return nil
}

// isKeyEvent: an event of a key aggregate, or of its usage record (the
// usage subject's id is the key's id).
func isKeyEvent(ev domain.Event) bool {
	return ev.AggType == domain.AggKey || ev.AggType == domain.AggKeyUse
}

// byID is key id, a zero keyRef when there is none. ks.mu is held.
func (ks *Keys) byID(id domain.KeyID) keyRef {
	if slot, ok := ks.table.Slot(id); ok {
		return at(ks.refs, slot)
	}
	return keyRef{}
}

// add appends k to tenant t's list and returns where it is.
func (ks *Keys) add(t domain.TenantID, k *domain.Key) keyRef {
	list := ks.byTenant[t]
	if list == nil {
		list = &tenantKeys{}
		ks.byTenant[t] = list
	}
	list.keys = append(list.keys, k)
	if !ks.restoring {
		list.names.add(int32(len(list.keys)-1), list.byName)
	}
	return keyRef{key: k, list: list, pos: len(list.keys) - 1}
}

// tenant is tenant t's keys, nil when it has none. ks.mu is held.
func (ks *Keys) tenant(t domain.TenantID) []*domain.Key {
	if list := ks.byTenant[t]; list != nil {
		return list.keys
	}
	return nil
}

// Get returns a copy of key id if it belongs to tenant t. A quarantined
// key (Quarantine) is not there: its state here may be stale, so no
// command acts on it and no one authenticates with it.
func (ks *Keys) Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	ref := ks.byID(id)
	if ref.key == nil || ref.key.Tenant != t || ks.table.quarantine.RefusesKey(ref.key) {
		return domain.Key{}, false
	}
	return *ref.key, true
}

// ByID returns a copy of key id whatever its tenant: for authentication
// only. A quarantined key is not there (Get).
func (ks *Keys) ByID(id domain.KeyID) (domain.Key, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	ref := ks.byID(id)
	if ref.key == nil || ks.table.quarantine.RefusesKey(ref.key) {
		return domain.Key{}, false
	}
	return *ref.key, true
}

// Len is the number of keys of all tenants.
func (ks *Keys) Len() int {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.count
}

// Filter selects keys of one tenant.
type Filter struct {
	Tenant domain.TenantID
	// Project: keys of one project; OrgOnly: organization-level keys only.
	Project     domain.ProjectID
	OrgOnly     bool
	ProjectOnly bool
	// Name matches with '*' wildcards; Owner exactly.
	Name   string
	Owner  string
	Status domain.KeyStatus
	Type   domain.KeyType
	// Match, when set, must also accept the key (authorization filters).
	Match func(*domain.Key) bool
	Now   time.Time
	// ExceedsPolicy, when set, keeps the keys that are (true) or are not
	// (false) outside Policy at Now (domain.KeyPolicy.Exceeds).
	ExceedsPolicy *bool
	Policy        domain.KeyPolicy
	// UsedBefore, when set, keeps the keys not used at or after it
	// (domain.Key.UnusedSince); NeverUsed keeps the keys never used (true)
	// or used at least once (false).
	UsedBefore time.Time
	NeverUsed  *bool
	// Revocable keeps the keys not revoked yet (a cleanup's matches).
	Revocable bool
}

// Page selects a window of the sorted result.
type Page struct {
	Sort string // name, created, expiration, status, owner, last_used; "-" prefix for descending
	From int
	Size int
	// After, when set, starts the page after this position of the sort
	// (a cursor: the previous page's last key, Position), From counting
	// from there.
	After *Position
}

// SortFields are the accepted sort keys.
var SortFields = map[string]bool{"name": true, "created": true, "expiration": true, "status": true, "owner": true, "id": true, "last_used": true}

// List returns the matching keys, sorted and paged, and the total count.
// Only the tenant's key pointers are copied under the read lock (a key in
// the list never changes: an update replaces it); filtering and sorting
// run without it, so a large listing holds up no fold. Only the page is
// copied out: a page of 50 out of 10,000 copies 50 keys. Quarantined keys
// are left out (Get).
func (ks *Keys) List(f Filter, p Page) ([]domain.Key, int) {
	return ks.listOf(ks.candidates(f), f, p)
}

// listOf is List over the keys cands (index_names.go: candidates), which
// hold every key f accepts.
func (ks *Keys) listOf(cands []*domain.Key, f Filter, p Page) ([]domain.Key, int) {
	var match []*domain.Key
	for _, k := range cands {
		if f.accepts(k) && !ks.table.quarantine.RefusesKey(k) && !(f.onUse() && ks.table.quarantine.UsageUnknown(k.ID)) {
			match = append(match, k)
		}
	}
	total := len(match)
	if p.After != nil {
		// Past the cursor only: each page sorts what is left, not all.
		match = slices.DeleteFunc(match, func(k *domain.Key) bool { return comparePositions(PositionOf(k, p.Sort, f.Now), *p.After, p.Sort) <= 0 })
	}
	if p.Size >= 0 {
		// Only the page's keys and those before it are put in order: the
		// cost of a page follows the page, not the keys that match.
		match = firstInOrder(match, p.From+p.Size, keyOrder(p.Sort, f.Now))
	} else {
		sortKeys(match, p.Sort, f.Now)
	}
	from := min(p.From, len(match))
	match = match[from:]
	if p.Size >= 0 && p.Size < len(match) {
		match = match[:p.Size]
	}
	out := make([]domain.Key, len(match))
	for i, k := range match {
		out[i] = *k
	}
	return out, total
}

func (f Filter) accepts(k *domain.Key) bool {
	switch {
	case f.Project != "" && k.Project != f.Project:
		return false
	case f.OrgOnly && k.Scope != domain.ScopeOrg:
		return false
	case f.ProjectOnly && k.Scope != domain.ScopeProject:
		return false
	case f.Name != "" && !domain.MatchWildcard(f.Name, k.Name):
		return false
	case f.Owner != "" && k.Owner.User != f.Owner:
		return false
	case f.Status != "" && k.Status(f.Now) != f.Status:
		return false
	case !k.Type.Matches(f.Type):
		return false
	case f.Match != nil && !f.Match(k):
		return false
	case f.ExceedsPolicy != nil && f.Policy.Exceeds(k, f.Now) != *f.ExceedsPolicy:
		return false
	case !f.UsedBefore.IsZero() && !k.UnusedSince(f.UsedBefore):
		return false
	case f.NeverUsed != nil && k.LastUsed.IsZero() != *f.NeverUsed:
		return false
	case f.Revocable && k.Invalidated:
		return false
	}
	return true
}

// onUse says whether the filter keeps keys by their last use: a key whose
// last use is unknown (Quarantine.UsageUnknown) matches no such filter, so
// a cleanup of unused keys never takes it.
func (f Filter) onUse() bool { return !f.UsedBefore.IsZero() || f.NeverUsed != nil }

// sortKeys sorts ks in the order of their positions (PositionOf), one
// field compared on the keys themselves: a slice of positions would copy
// 56 bytes per key, where a sort of pointers moves 8.
func sortKeys(ks []*domain.Key, by string, now time.Time) {
	slices.SortFunc(ks, keyOrder(by, now))
}

// keyOrder compares two keys in sort by ("-" prefix for descending) at
// now, ties broken by id: the order of their positions (PositionOf).
func keyOrder(by string, now time.Time) func(a, b *domain.Key) int {
	desc := strings.HasPrefix(by, "-")
	var field func(a, b *domain.Key) int
	switch strings.TrimPrefix(by, "-") {
	case "name":
		field = func(a, b *domain.Key) int { return strings.Compare(a.Name, b.Name) }
	case "expiration":
		field = func(a, b *domain.Key) int { return expiryOrMax(a).Compare(expiryOrMax(b)) }
	case "status":
		field = func(a, b *domain.Key) int { return strings.Compare(string(a.Status(now)), string(b.Status(now))) }
	case "owner":
		field = func(a, b *domain.Key) int { return strings.Compare(a.Owner.User, b.Owner.User) }
	case "last_used":
		field = func(a, b *domain.Key) int { return a.LastUsed.Compare(b.LastUsed) }
	case "id":
		field = func(a, b *domain.Key) int { return 0 }
	default:
		field = func(a, b *domain.Key) int { return a.Created.Compare(b.Created) }
	}
	return func(a, b *domain.Key) int {
		c := field(a, b)
		if c == 0 {
			c = strings.Compare(string(a.ID), string(b.ID))
		}
		if desc {
			return -c
		}
		return c
	}
}

// Position is where a key falls in a sort: its sort field (a string or a
// time) and its id, which breaks ties. A cursor carries the last one of a
// page, so the next page starts after it whatever was added or removed.
type Position struct {
	S  string       `json:"s,omitempty"`
	T  time.Time    `json:"t"`
	ID domain.KeyID `json:"id"`
}

// PositionOf is k's position in sort by ("-" prefix for descending) at now.
func PositionOf(k *domain.Key, by string, now time.Time) Position {
	p := Position{ID: k.ID}
	switch strings.TrimPrefix(by, "-") {
	case "name":
		p.S = k.Name
	case "expiration":
		p.T = expiryOrMax(k)
	case "status":
		p.S = string(k.Status(now))
	case "owner":
		p.S = k.Owner.User
	case "last_used":
		p.T = k.LastUsed // never used: the zero time, least recent
	case "id":
	default:
		p.T = k.Created
	}
	return p
}

// comparePositions orders a before b in sort by, as sortKeys does.
func comparePositions(a, b Position, by string) int {
	c := strings.Compare(a.S, b.S)
	if c == 0 {
		c = a.T.Compare(b.T)
	}
	if c == 0 {
		c = strings.Compare(string(a.ID), string(b.ID))
	}
	if strings.HasPrefix(by, "-") {
		return -c
	}
	return c
}

func expiryOrMax(k *domain.Key) time.Time {
	if k.Expires.IsZero() {
		return time.Unix(1<<40, 0)
	}
	return k.Expires
}
