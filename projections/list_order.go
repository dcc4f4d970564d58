package projections

import (
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// placement is where keys are: a project (none for organization keys)
// and a scope. A tenant counts its keys by placement (keyCounts), so that
// a list of a project's keys knows its total without reading them.
type placement struct {
	project domain.ProjectID
	scope   domain.Scope
}

// keyCounts are a tenant's keys counted by placement.
type keyCounts map[placement]int

func (c keyCounts) add(r *keyRec, n int) {
	p := placement{r.c.Project, r.c.Scope}
	if c[p] += n; c[p] == 0 {
		delete(c, p)
	}
}

// of is the number of keys f's placement (project, scope) accepts.
func (c keyCounts) of(f Filter) int {
	n := 0
	for p, k := range c {
		if (f.Project == "" || p.project == f.Project) && (!f.OrgOnly || p.scope == domain.ScopeOrg) &&
			(!f.ProjectOnly || p.scope == domain.ScopeProject) {
			n += k
		}
	}
	return n
}

// placesOnly reports whether f keeps keys by their placement alone (the
// tenant, a project, a scope): its total is then counted, not read.
func (f Filter) placesOnly() bool {
	return f.Name == "" && f.Owner == "" && f.Status == "" && f.Type == "" && f.Match == nil && f.ExceedsPolicy == nil &&
		f.UsedBefore.IsZero() && f.NeverUsed == nil && !f.Revocable
}

// InOrder reports whether List reads the page of f sorted by sort from
// an index in that order (listInOrder), reading the keys up to the page
// rather than every key of the tenant: a filter of placement alone, sorted
// by any field but status (which moves with the clock: a scan).
func InOrder(f Filter, sort string) bool {
	switch strings.TrimPrefix(sort, "-") {
	case "created", "name", "owner", "expiration", "last_used":
		return f.placesOnly()
	}
	return false
}

// listInOrder answers List for a filter of placement only sorted by a
// field a tenant's index keeps (InOrder): that index is read from the end
// the sort starts at (past the cursor, looked for in it), keys of other
// placements passed over, until the page is full; the total is the
// tenant's count of the placement. ok is false where it does not apply
// (another filter or sort, a list of every key, or quarantined keys,
// which a list leaves out and the count does not).
func (ks *Keys) listInOrder(f Filter, p Page) (page []*keyRec, total int, ok bool) {
	if !InOrder(f, p.Sort) || p.Size < 0 {
		return nil, 0, false
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.table.quarantine.Len() > 0 {
		return nil, 0, false
	}
	list := ks.byTenant[f.Tenant]
	if list == nil {
		return nil, 0, true
	}
	want := p.From + p.Size
	if want == 0 {
		return nil, list.counts.of(f), true // Size 0: the total alone
	}
	asc := strings.TrimPrefix(p.Sort, "-")
	view, _ := list.viewOf(asc)
	var key domain.Key
	view.walk(strings.HasPrefix(p.Sort, "-"), p.After, asc, func(pos int32) bool {
		if r := list.keys[pos]; f.accepts(r, &key) {
			page = append(page, r)
		}
		return len(page) < want
	})
	return page[min(p.From, len(page)):], list.counts.of(f), true
}

// byCreated orders a tenant's keys by creation, then id (keyOrder).
func (l *tenantKeys) byCreated(a, b int32) int {
	ka, kb := l.keys[a], l.keys[b]
	if c := ka.createdAt().Compare(kb.createdAt()); c != 0 {
		return c
	}
	return strings.Compare(string(ka.ID), string(kb.ID))
}

// recreated keeps the indexes and counts right when the log creates
// again a key of this tenant (no command does): its name, creation and
// placement may have changed, which the orders cannot follow in place,
// so they are built anew by their next reader.
func (l *tenantKeys) recreated(old, r *keyRec) {
	l.counts.add(old, -1)
	l.counts.add(r, 1)
	if r.Name != old.Name {
		l.names.lazy()
	}
	if r.created != old.created {
		l.created.lazy()
	}
	if r.c.Owner.User != old.c.Owner.User {
		l.owners.add(r.pos, r.c.Owner.User)
		l.ownerOrder.lazy()
	}
}
