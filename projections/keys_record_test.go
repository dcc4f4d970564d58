package projections

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// randomKeyEvents are n events about random keys of three tenants, as the
// log may hold them: creations (again, now and then), updates,
// revocations, rotations, expiries and usage records, with times in UTC as
// the log gives them and now and then in another location, with a
// monotonic reading or past 2262, and payloads decoded from JSON or (held
// as made, WithPayload) with metadata JSON never gives (ints).
func randomKeyEvents(rng *rand.Rand, n int) []domain.Event {
	tenants := []domain.TenantID{"o1", "o2", "o3"}
	tenantOf := map[domain.KeyID]domain.TenantID{}
	var ids []domain.KeyID
	base := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	randTime := func() time.Time {
		t := base.Add(time.Duration(rng.IntN(1000*3600)) * time.Second).Add(time.Duration(rng.IntN(1e9)))
		switch rng.IntN(12) {
		case 0:
			return t.In(paris)
		case 1:
			return time.Now() // a monotonic reading, the local location
		case 2:
			return time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
		case 3:
			return time.Unix(0, 0).UTC() // the epoch, which packs to 0
		}
		return t
	}
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	rds := func() domain.RoleDescriptors {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return domain.RoleDescriptors{}
		}
		return domain.RoleDescriptors{pick("r1", "r2"): {Cluster: []string{pick("all", "monitor")}}}
	}
	limits := func() []domain.RoleDescriptors {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []domain.RoleDescriptors{}
		}
		return []domain.RoleDescriptors{rds(), rds()}
	}
	metadata := func() map[string]any {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return map[string]any{}
		case 2:
			return map[string]any{"team": pick("a", "b"), "n": rng.IntN(3), "deep": map[string]any{"x": []any{true, nil, 1.5, "s"}}}
		}
		return map[string]any{"team": pick("a", "b", "c"), "n": rng.IntN(1000)}
	}
	var evs []domain.Event
	for i := range n {
		var id domain.KeyID
		var p domain.Payload
		agg := domain.AggKey
		if len(ids) == 0 || rng.IntN(3) == 0 {
			id = domain.KeyID(fmt.Sprintf("k%03d", rng.IntN(n/2+1)))
		} else {
			id = ids[rng.IntN(len(ids))]
		}
		t, known := tenantOf[id]
		if !known || rng.IntN(20) == 0 {
			if !known {
				t = tenants[rng.IntN(len(tenants))]
				tenantOf[id] = t
				ids = append(ids, id)
			}
			// (Created again, a key keeps its name: the name index
			// counts on names never changing.)
			c := domain.KeyCreated{KeyID: id, Name: nameOf(id), Scope: domain.ScopeOrg, Type: domain.KeyType(pick("personal", "managed", "cross_cluster")),
				Owner:           domain.Owner{User: pick("alice", "bob"), Realm: pick("", "members", "project")},
				Hash:            hashHex,
				RoleDescriptors: rds(), LimitedBy: limits(), Metadata: metadata(), RotatedFrom: domain.KeyID(pick("", "", "k000"))}
			if rng.IntN(2) == 0 {
				c.Scope, c.Project = domain.ScopeProject, domain.ProjectID(pick("p1", "p2"))
			}
			if rng.IntN(5) == 0 {
				c.Owner.ByKey = "k001"
			}
			if rng.IntN(3) > 0 {
				e := randTime()
				c.Expires = &e
			}
			p = c
		} else {
			switch rng.IntN(6) {
			case 0:
				u := domain.KeyUpdated{NeverExpires: rng.IntN(4) == 0}
				if rng.IntN(2) == 0 {
					r := rds()
					u.RoleDescriptors = &r
				}
				if rng.IntN(2) == 0 {
					m := metadata()
					u.Metadata = &m
				}
				if rng.IntN(2) == 0 {
					e := randTime()
					u.Expires = &e
				}
				if rng.IntN(3) == 0 {
					l := limits()
					u.LimitedBy = &l
				}
				p = u
			case 1:
				p = domain.KeyInvalidated{Reason: "r"}
			case 2:
				p = domain.KeyRotated{RotatedTo: ids[rng.IntN(len(ids))], Expires: randTime()}
			case 3:
				p = domain.KeyExpired{Expires: randTime()}
			default:
				agg, p = domain.AggKeyUse, domain.KeyUsed{KeyID: id, Used: randTime()}
				if rng.IntN(10) == 0 {
					t = tenants[rng.IntN(len(tenants))] // a record that belongs to no key here
				}
			}
		}
		actor := domain.Actor{Kind: domain.ActorUser, ID: pick("alice", "bob"), Name: pick("", "Alice")}
		ev := domain.NewEvent(fmt.Sprint(i), t, agg, string(id), domain.Meta{Actor: actor}, p)
		ev.Time, ev.Seq = randTime(), uint64(i+1)
		if rng.IntN(4) == 0 {
			ev = ev.WithPayload(p)
		}
		evs = append(evs, ev)
	}
	return evs
}

func nameOf(id domain.KeyID) string {
	return []string{"ci", "deploy", "ci-2", "x"}[int(id[len(id)-1])%4]
}

// foldPlain folds evs into domain.Keys as the key list did before its
// records: a key per id, each event applied to a copy (a failed one
// leaves the key as it was).
func foldPlain(evs []domain.Event) (map[domain.KeyID]*domain.Key, []domain.KeyID) {
	keys := map[domain.KeyID]*domain.Key{}
	var order []domain.KeyID
	for _, ev := range evs {
		id := domain.KeyID(ev.AggID)
		old := keys[id]
		next := new(domain.Key)
		if old != nil {
			*next = *old
		}
		var err error
		if ev.AggType == domain.AggKeyUse {
			if old == nil || old.Tenant != ev.Tenant {
				continue
			}
			err = next.NoteUse(ev)
		} else {
			err = next.Apply(ev)
		}
		if err != nil {
			continue
		}
		if old == nil {
			order = append(order, id)
		}
		keys[id] = next
	}
	return keys, order
}

// The key list keeps records, not domain.Keys: every key it gives back
// (Get, ByID without metadata, List, Select, a past list) is the one the
// plain fold of the same events gives, exactly, times and metadata
// included, whatever the events.
func TestKeyRecordsGiveBackTheFoldedKeys(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 27))
		evs := randomKeyEvents(rng, 400)
		want, order := foldPlain(evs)
		ks := NewKeys()
		for i, ev := range evs {
			if i%2 == 0 {
				_ = ks.Apply(ev)
			} else {
				_, _ = ks.ApplyAll([]domain.Event{ev})
			}
		}
		if ks.Len() != len(want) {
			t.Fatalf("seed %d: %d keys, the plain fold %d", seed, ks.Len(), len(want))
		}
		for _, id := range order {
			w := want[id]
			got, ok := ks.Get(w.Tenant, id)
			if !ok || !reflect.DeepEqual(got, *w) {
				t.Fatalf("seed %d: Get(%s)\n got %+v\nwant %+v", seed, id, got, *w)
			}
			noMeta := *w
			noMeta.Metadata = nil
			if got, ok := ks.ByID(id); !ok || !reflect.DeepEqual(got, noMeta) {
				t.Fatalf("seed %d: ByID(%s)\n got %+v\nwant %+v", seed, id, got, noMeta)
			}
		}
		for _, tenant := range []domain.TenantID{"o1", "o2", "o3"} {
			var mine []domain.Key
			for _, id := range order {
				if want[id].Tenant == tenant {
					mine = append(mine, *want[id])
				}
			}
			selected := ks.Select(tenant, func(k *domain.Key) bool {
				if k.Metadata != nil {
					t.Fatalf("Select lent %s with its metadata", k.ID)
				}
				return true
			})
			if !reflect.DeepEqual(selected, mine) {
				t.Fatalf("seed %d: Select(%s) gives other keys than the plain fold", seed, tenant)
			}
			listed, _ := ks.List(Filter{Tenant: tenant}, Page{Sort: "id", Size: -1})
			slices.SortFunc(mine, func(a, b domain.Key) int { return strings.Compare(string(a.ID), string(b.ID)) })
			if !reflect.DeepEqual(listed, mine) && len(mine) > 0 {
				t.Fatalf("seed %d: List(%s) gives other keys than the plain fold", seed, tenant)
			}
		}
	}
}

// acceptsKey is Filter.accepts as it read a domain.Key, before records.
func acceptsKey(f Filter, k *domain.Key) bool {
	switch {
	case f.Project != "" && k.Project != f.Project:
	case f.OrgOnly && k.Scope != domain.ScopeOrg:
	case f.ProjectOnly && k.Scope != domain.ScopeProject:
	case f.Name != "" && !domain.MatchWildcard(f.Name, k.Name):
	case f.Owner != "" && k.Owner.User != f.Owner:
	case f.Status != "" && k.Status(f.Now) != f.Status:
	case !k.Type.Matches(f.Type):
	case f.Match != nil && !f.Match(k):
	case f.ExceedsPolicy != nil && f.Policy.Exceeds(k, f.Now) != *f.ExceedsPolicy:
	case !f.UsedBefore.IsZero() && !k.UnusedSince(f.UsedBefore):
	case f.NeverUsed != nil && k.LastUsed.IsZero() != *f.NeverUsed:
	case f.Revocable && k.Invalidated:
	default:
		return true
	}
	return false
}

// Filters and sorts read the records, not keys: over random keys, every
// filter keeps the keys it kept of the domain.Keys, in the order the
// positions of those keys give, page after page by cursor.
func TestListsOfRecordsAreTheListsOfTheirKeys(t *testing.T) {
	yes, no := true, false
	now := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	filters := []Filter{
		{}, {Project: "p1"}, {OrgOnly: true}, {ProjectOnly: true}, {Name: "ci*"}, {Owner: "bob"},
		{Status: domain.StatusActive}, {Status: domain.StatusExpired}, {Status: domain.StatusInvalidated},
		{Type: domain.KeyRest}, {Type: domain.KeyCrossCluster}, {Match: func(k *domain.Key) bool { return k.Owner.Realm == "project" }},
		{ExceedsPolicy: &yes, Policy: domain.KeyPolicy{MaxExpiration: "30d"}}, {ExceedsPolicy: &no, Policy: domain.KeyPolicy{MaxExpiration: "30d"}},
		{UsedBefore: now.Add(-100 * time.Hour)}, {NeverUsed: &yes}, {NeverUsed: &no}, {Revocable: true},
	}
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 72))
		evs := randomKeyEvents(rng, 300)
		want, _ := foldPlain(evs)
		ks := NewKeys()
		for _, ev := range evs {
			_ = ks.Apply(ev)
		}
		for i, f := range filters {
			f.Tenant, f.Now = "o1", now
			for by := range SortFields {
				for _, by := range []string{by, "-" + by} {
					var plain []*domain.Key
					for _, k := range want {
						if k.Tenant == "o1" && acceptsKey(f, k) {
							plain = append(plain, k)
						}
					}
					sort.Slice(plain, func(i, j int) bool {
						return comparePositions(PositionOf(plain[i], by, now), PositionOf(plain[j], by, now), by) < 0
					})
					var got []domain.Key
					p := Page{Sort: by, Size: 7}
					for {
						page, total := ks.List(f, p)
						if total != len(plain) {
							t.Fatalf("seed %d, filter %d, sort %s: %d keys, %d of the domain.Keys", seed, i, by, total, len(plain))
						}
						got = append(got, page...)
						if len(page) < p.Size {
							break
						}
						at := PositionOf(&page[len(page)-1], by, now)
						p.After = &at
					}
					if len(got) != len(plain) {
						t.Fatalf("seed %d, filter %d, sort %s: %d keys by cursor, want %d", seed, i, by, len(got), len(plain))
					}
					for j := range got {
						if !reflect.DeepEqual(got[j], *plain[j]) {
							t.Fatalf("seed %d, filter %d, sort %s: key %d is %s, want %s", seed, i, by, j, got[j].ID, plain[j].ID)
						}
					}
				}
			}
		}
	}
}

// encodeKeyV4 is the encoding of a key in keys@4 snapshots as the key list
// wrote it from domain.Keys, before its records.
func encodeKeyV4(w *writer, k *domain.Key) error {
	w.str(string(k.ID))
	w.sym(string(k.Tenant))
	w.sym(string(k.Project))
	w.sym(string(k.Scope))
	w.sym(string(k.Type))
	w.str(k.Name)
	if err := putValue(w, &w.owners, k.Owner); err != nil {
		return err
	}
	if err := putValue(w, &w.actors, k.CreatedBy); err != nil {
		return err
	}
	w.time(k.Created)
	w.time(k.Expires)
	w.buf = append(w.buf, k.Hash[:]...)
	if err := w.jsonMap(len(k.RoleDescriptors), k.RoleDescriptors == nil, k.RoleDescriptors); err != nil {
		return err
	}
	if err := w.jsonMap(len(k.LimitedBy), k.LimitedBy == nil, k.LimitedBy); err != nil {
		return err
	}
	if err := w.metadata(k.Metadata); err != nil {
		return err
	}
	w.bool(k.Invalidated)
	w.time(k.InvalidatedAt)
	w.time(k.Updated)
	w.uint(k.Seq)
	w.uint(k.CreatedSeq)
	w.str(string(k.RotatedTo))
	w.str(string(k.RotatedFrom))
	w.time(k.LastUsed)
	w.uint(k.UseSeq)
	return nil
}

// decodeKeyV4 is how the key list read a key of a keys@4 snapshot before
// its records.
func decodeKeyV4(r *reader, k *domain.Key) error {
	k.ID = domain.KeyID(r.str())
	k.Tenant = domain.TenantID(r.sym())
	k.Project = domain.ProjectID(r.sym())
	k.Scope = domain.Scope(r.sym())
	k.Type = domain.KeyType(r.sym())
	k.Name = r.str()
	k.Owner = getValue(r, &r.owners)
	k.CreatedBy = getValue(r, &r.actors)
	k.Created, k.Expires = r.time(), r.time()
	r.fixed(k.Hash[:])
	if err := sharedJSON(r, &k.RoleDescriptors, func() { k.RoleDescriptors = domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := sharedJSON(r, &k.LimitedBy, func() { k.LimitedBy = []domain.RoleDescriptors{} }); err != nil {
		return err
	}
	if err := r.jsonMap(&k.Metadata, func() { k.Metadata = map[string]any{} }); err != nil {
		return err
	}
	k.Invalidated = r.bool()
	k.InvalidatedAt, k.Updated = r.time(), r.time()
	k.Seq = r.uint()
	k.CreatedSeq = r.uint()
	k.RotatedTo, k.RotatedFrom = domain.KeyID(r.str()), domain.KeyID(r.str())
	k.LastUsed, k.UseSeq = r.time(), r.uint()
	return r.err
}

// snapshotV4 is the keys@4 snapshot of keys as written before records.
func snapshotV4(t *testing.T, keys map[domain.KeyID]*domain.Key) []byte {
	sorted := make([]*domain.Key, 0, len(keys))
	for _, k := range keys {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var w writer
	w.uint(uint64(len(sorted)))
	for _, k := range sorted {
		if err := encodeKeyV4(&w, k); err != nil {
			t.Fatal(err)
		}
	}
	return w.buf
}

// Records changed what the key list holds, not its snapshots: over random
// keys, a snapshot's keys are byte for byte the keys@4 snapshot the
// domain.Keys gave (so its digest too), and restored it gives the keys a
// restore of domain.Keys gave, and the same keys again.
func TestKeySnapshotsAreTheEncodingOfTheirKeys(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 4))
		evs := randomKeyEvents(rng, 300)
		want, _ := foldPlain(evs)
		ks := NewKeys()
		for _, ev := range evs {
			_ = ks.Apply(ev)
		}
		snap, err := ks.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if v4 := snapshotV4(t, want); !bytes.Equal(keysPart(t, ks), v4) || !bytes.Equal(snap[:len(v4)], v4) {
			t.Fatalf("seed %d: the snapshot (%d bytes) is not the keys@4 encoding of the keys (%d bytes)", seed, len(snap), len(v4))
		}
		restored := NewKeys()
		if err := restored.Restore(snap); err != nil {
			t.Fatal(err)
		}
		r := reader{buf: snap}
		v4 := map[domain.KeyID]*domain.Key{}
		for range r.count() {
			k := new(domain.Key)
			if err := decodeKeyV4(&r, k); err != nil {
				t.Fatal(err)
			}
			v4[k.ID] = k
			if got, ok := restored.Get(k.Tenant, k.ID); !ok || !reflect.DeepEqual(got, *k) {
				t.Fatalf("seed %d: restored %s\n got %+v\nwant %+v", seed, k.ID, got, *k)
			}
		}
		if again := keysPart(t, restored); !bytes.Equal(again, snapshotV4(t, v4)) {
			t.Fatalf("seed %d: the restored list's snapshot is not that of the restored keys (%v)", seed, err)
		}
	}
}

// The key list's metadata encoder writes what snapshots write
// ((*writer).any), byte for byte, and refuses what they write as JSON
// instead (not plainJSON).
func TestMetadataEncodesAsSnapshotsEncodeIt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var value func(depth int) any
	value = func(depth int) any {
		switch n := rng.IntN(9); {
		case n == 0:
			return nil
		case n == 1:
			return rng.IntN(2) == 0
		case n == 2:
			return rng.Float64() * 1e6
		case n == 3:
			return fmt.Sprint("s", rng.IntN(5))
		case n == 4 && depth < 4:
			a := make([]any, rng.IntN(4))
			for i := range a {
				a[i] = value(depth + 1)
			}
			return a
		case n >= 5 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(12) {
				m[fmt.Sprint("k", rng.IntN(15))] = value(depth + 1)
			}
			return m
		case n == 8:
			return rng.IntN(10) // not JSON's: an int
		}
		return "leaf"
	}
	var e metaEncoder
	for range 2000 {
		m, _ := value(0).(map[string]any)
		if m == nil {
			continue
		}
		got, ok := e.encode(m)
		if ok != plainJSON(m) {
			t.Fatalf("%v: plain %v, the encoder says %v", m, plainJSON(m), ok)
		}
		if !ok {
			continue
		}
		var w writer
		w.any(m)
		if !bytes.Equal(got, w.buf) {
			t.Fatalf("%v: encoded\n%x\nwant\n%x", m, got, w.buf)
		}
		if back := decodeMeta(string(got)); !reflect.DeepEqual(back, m) {
			t.Fatalf("%v decoded as %v", m, back)
		}
	}
}

// A key's id names one tenant's key: a creation of the same id in another
// tenant is refused (the runner quarantines the key), and neither tenant's
// list nor Get shows the other's key.
func TestAKeyCreatedAgainInAnotherTenantIsRefused(t *testing.T) {
	create := func(tenant domain.TenantID, seq uint64) domain.Event {
		ev := domain.NewEvent(fmt.Sprint(seq), tenant, domain.AggKey, "k1", domain.Meta{Actor: alice, Time: t0},
			domain.KeyCreated{KeyID: "k1", Name: "ci", Scope: domain.ScopeOrg, Hash: hashHex})
		ev.Seq = seq
		return ev
	}
	ks := NewKeys()
	if err := ks.Apply(create("o1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := ks.Apply(create("o2", 2)); err == nil {
		t.Fatal("the key was created again in another tenant")
	}
	if _, ok := ks.Get("o2", "k1"); ok {
		t.Error("o2 gets o1's key")
	}
	if keys, _ := ks.List(Filter{Tenant: "o2"}, Page{Size: -1}); len(keys) != 0 {
		t.Errorf("o2 lists %v", keys)
	}
	if keys, _ := ks.List(Filter{Tenant: "o1"}, Page{Size: -1}); len(keys) != 1 || keys[0].Tenant != "o1" || keys[0].Seq != 1 {
		t.Errorf("o1 lists %v", keys)
	}
}

// A record keeps a key's creation sequence as its distance from the last
// one; a key whose last event is four billion events after its creation
// (or, as a fold allows, before it) keeps it whole.
func TestRecordsKeepSequencesFarApart(t *testing.T) {
	for _, seqs := range [][2]uint64{{7, 7}, {9, 2}, {1 << 40, 1}, {1<<32 + 5, 5}, {1<<32 + 5, 6}, {3, 10}, {0, 0}} {
		k := domain.Key{ID: "k1", Tenant: "o1", Seq: seqs[0], CreatedSeq: seqs[1]}
		var in keyInterns
		if got := in.record(&k, nil).key(true); got.Seq != seqs[0] || got.CreatedSeq != seqs[1] {
			t.Errorf("seq %d created %d: the record gives %d, %d", seqs[0], seqs[1], got.Seq, got.CreatedSeq)
		}
	}
}

// keysPart is the encoding of ks's keys: a keys@4 snapshot, the first
// part of a keys@5 one, what its digest sums.
func keysPart(t testing.TB, ks *Keys) []byte {
	t.Helper()
	ks.mu.RLock()
	recs := ks.records()
	ks.mu.RUnlock()
	w, err := encodeRecs(recs)
	if err != nil {
		t.Fatal(err)
	}
	return w.buf
}
