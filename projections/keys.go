package projections

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/topk"
)

// Keys is the key list: every key aggregate's current state, by id and by
// tenant. The command side reads its aggregates from here too, so the
// request path never re-reads history from the stream.
type Keys struct {
	mu    sync.RWMutex
	table *KeyTable
	// refs are the keys' records by slot (KeyTable); nil is no key.
	refs  []*keyRec
	count int
	slots []uint32 // ApplyAll's scratch (KeyTable.foldRun)
	// byTenant lists each tenant's keys. Listing is all it is for, and an
	// append costs a fold less than a map insert: with a map per tenant,
	// the insert was a quarter of a replay's folding.
	byTenant map[domain.TenantID]*tenantKeys
	// restoring: add leaves the name indexes to Restore, which leaves them
	// to their first reader (orderedIndex.lazy).
	restoring bool
	// in shares what records repeat (keys_record.go).
	in keyInterns
}

// tenantKeys are one tenant's keys, in the order they were added, and
// that order by name (index_names.go).
type tenantKeys struct {
	keys []*keyRec
	// names, created and ownerOrder order the keys by name, creation and
	// owner, expiry and lastUse by expiration and last use (ties by id:
	// list_index.go); owners lists them by owner; counts counts them by
	// placement (list_order.go).
	names, created, ownerOrder orderedIndex
	expiry, lastUse            valueIndex
	owners                     ownerIndex
	counts                     keyCounts
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
		ks.refs = make([]*keyRec, 0, n)
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
	// Fold into a key made from the record, and pack it into a record
	// that replaces the old one: a failed apply leaves the old state in
	// place, and a record, once in the list, never changes (a snapshot
	// captures pointers and encodes them later: Capture).
	old := at(ks.refs, slot)
	var next domain.Key
	if old != nil {
		next = old.forFold()
	}
	if ev.AggType == domain.AggKeyUse {
		if old == nil || old.c.Tenant != ev.Tenant {
			return nil // no such key here: a usage record never makes one
		}
		if err := next.NoteUse(ev); err != nil {
			return err
		}
	} else if err := next.Apply(ev); err != nil {
		return err
	}
	if old != nil && next.Tenant != old.c.Tenant {
		// A key lives in its tenant's list for good (a creation is its
		// first event, and its id names one tenant's subject).
		return domain.E(domain.KindInternal, "key %s of %s cannot be created again in %s", old.ID, old.c.Tenant, next.Tenant)
	}
	rec := ks.in.record(&next, old)
	if old != nil {
		rec.pos = old.pos
		list := ks.byTenant[old.c.Tenant]
		list.keys[old.pos] = rec
		if rec.Name != old.Name || rec.created != old.created || rec.c != old.c {
			list.recreated(old, rec) // a creation again, in the log only
		}
		list.changed(old, rec)
	} else {
		ks.add(rec)
		ks.count++
	}
	ks.refs = put(ks.refs, slot, rec)
	return nil
}

// isKeyEvent: an event of a key aggregate, or of its usage record (the
// usage subject's id is the key's id).
func isKeyEvent(ev domain.Event) bool {
	return ev.AggType == domain.AggKey || ev.AggType == domain.AggKeyUse
}

// byID is key id's record, nil when there is none. ks.mu is held.
func (ks *Keys) byID(id domain.KeyID) *keyRec {
	if slot, ok := ks.table.Slot(id); ok {
		return at(ks.refs, slot)
	}
	return nil
}

// record is key id's record, nil when there is none or it is quarantined
// (Get). The record never changes: it is read without the lock.
func (ks *Keys) record(id domain.KeyID) *keyRec {
	ks.mu.RLock()
	r := ks.byID(id)
	ks.mu.RUnlock()
	if r == nil || ks.refuses(r) {
		return nil
	}
	return r
}

// refuses says whether the quarantine refuses r (Quarantine.refusesKey).
func (ks *Keys) refuses(r *keyRec) bool {
	return ks.table.quarantine.refusesKey(r.ID, r.c.Tenant, r.c.Owner)
}

// add appends r to its tenant's list, at r.pos.
func (ks *Keys) add(r *keyRec) {
	list := ks.byTenant[r.c.Tenant]
	if list == nil {
		list = &tenantKeys{counts: keyCounts{}}
		// The orders by owner, expiration and last use are left to their
		// first reader (or snapshot): kept as keys come, they would double
		// what a replay of a million keys spends folding (BenchmarkKeysFold),
		// keys of one owner, or never used, comparing by id.
		list.ownerOrder.lazy()
		list.expiry.lazy()
		list.lastUse.lazy()
		ks.byTenant[r.c.Tenant] = list
	}
	list.counts.add(r, 1)
	r.pos = int32(len(list.keys))
	list.keys = append(list.keys, r)
	if !ks.restoring {
		list.names.add(r.pos, list.byName)
		list.created.add(r.pos, list.byCreated)
		list.owners.add(r.pos, r.c.Owner.User)
		list.ownerOrder.add(r.pos, list.byOwner)
		list.addTimes(r)
	}
}

// tenant is tenant t's keys, nil when it has none. ks.mu is held.
func (ks *Keys) tenant(t domain.TenantID) []*keyRec {
	if list := ks.byTenant[t]; list != nil {
		return list.keys
	}
	return nil
}

// Get returns a copy of key id if it belongs to tenant t. A quarantined
// key (Quarantine) is not there: its state here may be stale, so no
// command acts on it and no one authenticates with it.
func (ks *Keys) Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	r := ks.record(id)
	if r == nil || r.c.Tenant != t {
		return domain.Key{}, false
	}
	return r.key(true), true
}

// ByID returns a copy of key id whatever its tenant, without its metadata
// (Metadata is nil): for authentication only, which reads none and should
// not pay for decoding it. A quarantined key is not there (Get).
func (ks *Keys) ByID(id domain.KeyID) (domain.Key, bool) {
	r := ks.record(id)
	if r == nil {
		return domain.Key{}, false
	}
	return r.key(false), true
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
	// The key it is given has no Metadata (nil), and is only lent: Match
	// must not keep it.
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
// Only the tenant's record pointers are copied under the read lock (a
// record in the list never changes: an update replaces it); filtering and
// sorting run without it, on the records, so a large listing holds up no
// fold. Only the page is made into keys: a page of 50 out of 10,000 makes
// 50 keys. Quarantined keys are left out (Get).
func (ks *Keys) List(f Filter, p Page) ([]domain.Key, int) {
	if page, total, ok := ks.listInOrder(f, p); ok {
		out := make([]domain.Key, len(page))
		for i, r := range page {
			out[i] = r.key(true)
		}
		return out, total
	}
	cands, named := ks.candidates(f)
	if named {
		f.Name = "" // every candidate's name matches
	}
	return ks.listOf(cands, f, p)
}

// listOf is List over the keys cands (index_names.go: candidates), which
// hold every key f accepts.
func (ks *Keys) listOf(cands []*keyRec, f Filter, p Page) ([]domain.Key, int) {
	var match []*keyRec
	var view domain.Key // lent to f's functions of a whole key
	for _, r := range cands {
		if f.accepts(r, &view) && !ks.refuses(r) && !(f.onUse() && ks.table.quarantine.UsageUnknown(r.ID)) {
			match = append(match, r)
		}
	}
	total := len(match)
	if p.After != nil {
		// Past the cursor only: each page sorts what is left, not all.
		match = slices.DeleteFunc(match, func(r *keyRec) bool { return comparePositions(r.position(p.Sort, f.Now), *p.After, p.Sort) <= 0 })
	}
	if p.Size >= 0 {
		// Only the page's keys and those before it are put in order: the
		// cost of a page follows the page, not the keys that match.
		match = topk.First(match, p.From+p.Size, keyOrder(p.Sort, f.Now))
	} else {
		sortKeys(match, p.Sort, f.Now)
	}
	from := min(p.From, len(match))
	match = match[from:]
	if p.Size >= 0 && p.Size < len(match) {
		match = match[:p.Size]
	}
	out := make([]domain.Key, len(match))
	for i, r := range match {
		out[i] = r.key(true)
	}
	return out, total
}

// accepts says whether f keeps r. What it cannot read on the record
// (Match, ExceedsPolicy) it reads on a key made into view, without its
// metadata, once and only then.
func (f Filter) accepts(r *keyRec, view *domain.Key) bool {
	c := r.c
	switch {
	case f.Project != "" && c.Project != f.Project:
		return false
	case f.OrgOnly && c.Scope != domain.ScopeOrg:
		return false
	case f.ProjectOnly && c.Scope != domain.ScopeProject:
		return false
	case f.Name != "" && !domain.MatchWildcard(f.Name, r.Name):
		return false
	case f.Owner != "" && c.Owner.User != f.Owner:
		return false
	case f.Status != "" && r.status(f.Now) != f.Status:
		return false
	case !c.Type.Matches(f.Type):
		return false
	case !f.UsedBefore.IsZero() && !r.unusedSince(f.UsedBefore):
		return false
	case f.NeverUsed != nil && r.lastUsed().IsZero() != *f.NeverUsed:
		return false
	case f.Revocable && r.invalidated():
		return false
	case f.Match == nil && f.ExceedsPolicy == nil:
		return true
	}
	*view = r.key(false)
	switch {
	case f.Match != nil && !f.Match(view):
		return false
	case f.ExceedsPolicy != nil && f.Policy.Exceeds(view, f.Now) != *f.ExceedsPolicy:
		return false
	}
	return true
}

// onUse says whether the filter keeps keys by their last use: a key whose
// last use is unknown (Quarantine.UsageUnknown) matches no such filter, so
// a cleanup of unused keys never takes it.
func (f Filter) onUse() bool { return !f.UsedBefore.IsZero() || f.NeverUsed != nil }

// sortKeys sorts ks in the order of their positions (PositionOf), one
// field compared on the records themselves: a slice of positions would
// copy 56 bytes per key, where a sort of pointers moves 8.
func sortKeys(ks []*keyRec, by string, now time.Time) {
	slices.SortFunc(ks, keyOrder(by, now))
}

// keyOrder compares two records in sort by ("-" prefix for descending) at
// now, ties broken by id: the order of their positions (PositionOf).
func keyOrder(by string, now time.Time) func(a, b *keyRec) int {
	desc := strings.HasPrefix(by, "-")
	var field func(a, b *keyRec) int
	switch strings.TrimPrefix(by, "-") {
	case "name":
		field = func(a, b *keyRec) int { return strings.Compare(a.Name, b.Name) }
	case "expiration":
		field = func(a, b *keyRec) int { return expiryOrMax(a.expiresAt()).Compare(expiryOrMax(b.expiresAt())) }
	case "status":
		field = func(a, b *keyRec) int { return strings.Compare(string(a.status(now)), string(b.status(now))) }
	case "owner":
		field = func(a, b *keyRec) int { return strings.Compare(a.c.Owner.User, b.c.Owner.User) }
	case "last_used":
		field = func(a, b *keyRec) int { return a.lastUsed().Compare(b.lastUsed()) }
	case "id":
		field = func(a, b *keyRec) int { return 0 }
	default:
		field = func(a, b *keyRec) int { return a.createdAt().Compare(b.createdAt()) }
	}
	return func(a, b *keyRec) int {
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
		p.T = expiryOrMax(k.Expires)
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

// position is PositionOf the record's key.
func (r *keyRec) position(by string, now time.Time) Position {
	p := Position{ID: r.ID}
	switch strings.TrimPrefix(by, "-") {
	case "name":
		p.S = r.Name
	case "expiration":
		p.T = expiryOrMax(r.expiresAt())
	case "status":
		p.S = string(r.status(now))
	case "owner":
		p.S = r.c.Owner.User
	case "last_used":
		p.T = r.lastUsed()
	case "id":
	default:
		p.T = r.createdAt()
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

func expiryOrMax(expires time.Time) time.Time {
	if expires.IsZero() {
		return time.Unix(1<<40, 0)
	}
	return expires
}
