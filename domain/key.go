package domain

import (
	"encoding/json"
	"strings"
	"time"
)

// KeyStatus is derived from events and the clock, in the seeds' words.
type KeyStatus string

const (
	StatusActive      KeyStatus = "active"
	StatusExpired     KeyStatus = "expired"
	StatusInvalidated KeyStatus = "invalidated"
)

// Key is the key aggregate: a fold of its events.
type Key struct {
	ID              KeyID
	Tenant          TenantID
	Project         ProjectID
	Scope           Scope
	Type            KeyType
	Name            string
	Owner           Owner
	CreatedBy       Actor
	Created         time.Time
	Expires         time.Time // zero: never
	Hash            SecretHash
	RoleDescriptors RoleDescriptors
	LimitedBy       []RoleDescriptors
	// Metadata is never changed in place: keys with the same metadata may
	// share one map (eventcodec.Decoder, and a snapshot's restore).
	Metadata      map[string]any
	Invalidated   bool
	InvalidatedAt time.Time
	Updated       time.Time
	// RotatedTo is the key's successor once it was rotated (KeyRotated);
	// RotatedFrom the key it succeeds, for a key made by a rotation.
	RotatedTo   KeyID
	RotatedFrom KeyID
	// Seq is the stream sequence of the key's last event: the expected
	// last subject sequence of its next append.
	Seq uint64
	// LastUsed is the latest recorded use (KeyUsed), to the hour or
	// better; zero for a key never used. UseSeq is the last sequence of
	// the key's usage subject (AggKeyUse): what its next record expects.
	LastUsed time.Time
	UseSeq   uint64
	// CreatedSeq is the stream sequence of the key's creation: a key made
	// before its owner's account was deleted and its name taken again
	// belongs to the old account, not the new one (esrealm.RealmUser.Since).
	CreatedSeq uint64
}

// Status of the key at now.
func (k *Key) Status(now time.Time) KeyStatus {
	switch {
	case k.Invalidated:
		return StatusInvalidated
	case !k.Expires.IsZero() && !now.Before(k.Expires):
		return StatusExpired
	}
	return StatusActive
}

// Apply folds one event into the key. Events of other types are an error,
// and so is any event but its creation before the key was created: a log
// that changes a key it never made is damaged, and a fold that went on
// would make a key of no id, tenant or owner.
func (k *Key) Apply(e Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	if _, creation := p.(KeyCreated); !creation && k.ID == "" {
		return E(KindInternal, "%s of key %s before its creation", e.Type, e.AggID)
	}
	switch ev := p.(type) {
	case KeyCreated:
		h, err := ParseSecretHash(ev.Hash)
		if err != nil {
			return err
		}
		*k = Key{ID: ev.KeyID, Tenant: e.Tenant, Project: ev.Project, Scope: ev.Scope, Type: ev.Type, Name: ev.Name,
			Owner: ev.Owner, CreatedBy: e.Actor, Created: e.Time, Hash: h, RoleDescriptors: ev.RoleDescriptors,
			LimitedBy: ev.LimitedBy, Metadata: ev.Metadata, Updated: e.Time, RotatedFrom: ev.RotatedFrom}
		if ev.Expires != nil {
			k.Expires = *ev.Expires
		}
		k.CreatedSeq = e.Seq
	case KeyUpdated:
		if ev.RoleDescriptors != nil {
			k.RoleDescriptors = *ev.RoleDescriptors
		}
		if ev.Metadata != nil {
			k.Metadata = *ev.Metadata
		}
		if ev.Expires != nil {
			k.Expires = *ev.Expires
		} else if ev.NeverExpires {
			k.Expires = time.Time{}
		}
		if ev.LimitedBy != nil {
			k.LimitedBy = *ev.LimitedBy
		}
		k.Updated = e.Time
	case KeyInvalidated:
		k.Invalidated, k.InvalidatedAt = true, e.Time
	case KeyRotated:
		k.RotatedTo, k.Expires, k.Updated = ev.RotatedTo, ev.Expires, e.Time
	case KeyExpired:
		// Status follows from Expires and the clock; the event only marks
		// the moment in the key's history (and moves Seq).
	default:
		return E(KindInternal, "key aggregate cannot apply %s", e.Type)
	}
	k.Seq = e.Seq
	return nil
}

// OwnedBy reports whether the principal owns the key (Principal.Owns).
func (k *Key) OwnedBy(p Principal) bool { return p.Owns(k.ID, k.Owner) }

// TargetFor is the key as the target of p's action: where it is, and
// whether p owns it, which Authorize weighs against p's role.
func (k *Key) TargetFor(p Principal) Target {
	return Target{Tenant: k.Tenant, Project: k.Project, Own: k.OwnedBy(p)}
}

// CreateKey is the command to create a key.
type CreateKey struct {
	Tenant          TenantID
	Scope           Scope
	Project         ProjectID
	Type            KeyType
	Name            string
	Expiration      string
	RoleDescriptors json.RawMessage
	// Access is a cross-cluster key's access (CrossClusterAccess), from
	// which its role descriptors are derived; other keys take none.
	Access   json.RawMessage
	Metadata map[string]any
	// NeverAllowed says whether policy lets keys never expire.
	NeverAllowed bool
	// DefaultNever makes an absent expiration mean never (Elasticsearch's
	// default) instead of three months (keyplane's and Elastic Cloud's).
	DefaultNever bool
	// SnapshotLimits records the owner's permission at creation as the
	// key's limited_by, as Elasticsearch does: the key never grows beyond
	// it, even if the owner later gains privileges.
	SnapshotLimits bool
	// GrantedBy, when set, is the caller of Elasticsearch's grant API: it
	// needs the grant privilege, and the key belongs to the principal the
	// decision is given, who needs none.
	GrantedBy *Principal
	// ForMember is Elastic Cloud's API key API: a key that creates a key
	// creates it for its member, as Elastic Cloud's keys do, not as a
	// derived key of its own. The new key is the member's, limited by the
	// creating key's own sets, so it never holds more than the key that
	// made it, nor (checked at every authentication) than the member's
	// live role.
	ForMember bool
	// Policy is the organization's key policy (Org.Policy), and
	// ActiveKeys the number of its active keys before this one (for a
	// batch, before this one of the batch): state the decision reads.
	Policy     KeyPolicy
	ActiveKeys int
}

// surface is where the create came from, for its default expiration.
func (c CreateKey) surface() Surface {
	if c.DefaultNever {
		return SurfaceElasticsearch
	}
	return SurfaceConsole
}

// DecideCreateKey validates a create and returns the event for key id with
// secret hash h. Decisions are pure: the id, hash and clock are given.
func DecideCreateKey(p Principal, c CreateKey, id KeyID, h SecretHash, now time.Time) (KeyCreated, error) {
	var ev KeyCreated
	if err := authorizeCreate(p, c); err != nil {
		return ev, err
	}
	if !ValidName(c.Name) {
		return ev, Invalid("api key name must be 1 to 256 bytes, without control, format (bidi, zero-width) characters or surrounding spaces")
	}
	rds, err := c.descriptors(p)
	if err != nil {
		return ev, err
	}
	if err := CheckMetadata(c.Metadata); err != nil {
		return ev, err
	}
	if c.Scope != ScopeOrg && c.Scope != ScopeProject || (c.Scope == ScopeProject) == (c.Project == "") {
		return ev, Invalid("a key is scoped to its organization or to exactly one project")
	}
	if c.Type == "" {
		c.Type = KeyPersonal
	}
	var limited []RoleDescriptors
	owner := Owner{User: p.User, Realm: RealmMembers}
	if p.Realm == RealmProject {
		owner.Realm = RealmProject
	}
	// A cross-cluster key records no limited_by: its access is exactly
	// what it grants (Elasticsearch's rule).
	if c.SnapshotLimits && p.Kind != ActorKey && c.Type != KeyCrossCluster {
		limited = append(limited, p.PermissionIn(c.Tenant)...)
	}
	switch {
	case p.Kind == ActorKey && c.ForMember && p.RealmName() == RealmMembers:
		limited = keyOwnSets(p.Permission)
	case p.Kind == ActorKey:
		// A key's permission is an intersection that cannot be expressed as
		// one set of descriptors, so a derived key may hold no privileges.
		if len(c.RoleDescriptors) == 0 || len(rds) == 0 || !rds.GrantsNothing() {
			return ev, Invalid("creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
		}
		owner = Owner{User: p.User, Realm: "_es_api_key", ByKey: p.KeyID}
		limited = keyOwnSets(p.Permission)
	}
	expires, err := c.expires(now)
	if err != nil {
		return ev, err
	}
	if expires, err = creatorBound(p, c, expires); err != nil {
		return ev, err
	}
	if err := c.Policy.CheckActiveKeys(c.ActiveKeys, 1); err != nil {
		return ev, err
	}
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	return KeyCreated{KeyID: id, Name: c.Name, Scope: c.Scope, Project: c.Project, Type: c.Type, Owner: owner,
		Hash: h.String(), Expires: expires, RoleDescriptors: rds, LimitedBy: limited, Metadata: c.Metadata}, nil
}

// creatorBound ends a key that a key creates for its member (ForMember)
// no later than the creating key: the new key holds the creator's
// privileges, so a key made to last an hour could otherwise mint its
// member a key of the same privileges for three months, or for ever (as
// selfRenewal keeps a key from renewing itself). A missing expiration is
// shortened to the creator's end; one asked beyond it is refused.
func creatorBound(p Principal, c CreateKey, expires *time.Time) (*time.Time, error) {
	if p.Kind != ActorKey || !c.ForMember || p.Expires.IsZero() {
		return expires, nil
	}
	if expires != nil && !expires.After(p.Expires) {
		return expires, nil
	}
	if strings.TrimSpace(c.Expiration) != "" {
		return nil, Invalid("api key [%s] cannot create a key expiring [%s], after its own expiration %s: its owner may", p.KeyID, c.Expiration, p.Expires.UTC().Format(time.RFC3339))
	}
	end := p.Expires.UTC()
	return &end, nil
}

// descriptors are the new key's role descriptors: parsed from the
// request, or for a cross-cluster key derived from its access.
func (c CreateKey) descriptors(p Principal) (RoleDescriptors, error) {
	switch c.Type {
	case "", KeyPersonal, KeyManaged:
	case KeyCrossCluster:
		return c.crossClusterDescriptors(p)
	default:
		return nil, Invalid("key type must be personal, managed or cross_cluster, not [%s]", c.Type)
	}
	if present(c.Access) {
		return nil, Invalid("[access] is for cross-cluster API keys only: set [type] to [cross_cluster], or give [role_descriptors]")
	}
	return ParseRoleDescriptors(c.RoleDescriptors)
}

// expires is when a key created now by c ends, nil for never: its
// organization's key policy decides (KeyPolicy.Expiration, the one place
// a key's expiration is decided), with the surface's default and the
// server's ceiling on never.
func (c CreateKey) expires(now time.Time) (*time.Time, error) {
	e, err := c.Policy.Expiration(c.Expiration, now, c.surface(), c.NeverAllowed)
	if err != nil || e.Never() {
		return nil, err
	}
	return &e.At, nil
}

// authorizeCreate checks the creator, or for a grant the granter (the
// owner must still live where the key will).
func authorizeCreate(p Principal, c CreateKey) error {
	if c.GrantedBy == nil {
		action := ActionCreateKey
		if c.Type == KeyCrossCluster {
			action = ActionCreateCrossClusterKey
		}
		return p.Authorize(action, Target{Tenant: c.Tenant, Project: c.Project, Own: true})
	}
	if err := c.GrantedBy.Authorize(ActionGrantKey, Target{Tenant: c.Tenant, Project: c.Project}); err != nil {
		return err
	}
	if p.Kind == ActorKey || !p.InTenant(c.Tenant) || c.Project != "" && !p.InProject(c.Tenant, c.Project) {
		return NotFound("user [%s] not found", p.User)
	}
	return nil
}

// keyOwnSets is a key principal's permission without its owner's live role
// (the last set), which is evaluated again for the derived key.
func keyOwnSets(p Permission) []RoleDescriptors {
	if len(p) <= 1 {
		return nil
	}
	return append([]RoleDescriptors(nil), p[:len(p)-1]...)
}

// UpdateKey changes privileges, metadata and, where asked, expiration.
type UpdateKey struct {
	RoleDescriptors json.RawMessage // nil: unchanged
	Metadata        *map[string]any
	Expiration      *string
	NeverAllowed    bool
	// SnapshotLimits records the owner's current permission as the key's
	// limited_by again (Elasticsearch's update does).
	SnapshotLimits bool
	// Policy is the organization's key policy: a new expiration must keep
	// to it (an update that leaves the expiration alone is not asked to).
	Policy KeyPolicy
	// Access replaces a cross-cluster key's access, and so its role
	// descriptors (nil: unchanged); other keys take none.
	Access json.RawMessage
	// ExpectType is the Elasticsearch type (ESTypeRest, ESTypeCrossCluster)
	// of the keys the API the update came by updates: each of
	// Elasticsearch's update APIs refuses the other type. Empty (the
	// console's API) takes either.
	ExpectType string
}

// DecideUpdateKey validates an update of k.
func DecideUpdateKey(p Principal, k *Key, u UpdateKey, now time.Time) (KeyUpdated, error) {
	var ev KeyUpdated
	if err := p.Authorize(ActionUpdateKey, k.TargetFor(p)); err != nil {
		return ev, err
	}
	if p.Kind == ActorKey {
		return ev, Invalid("an API key cannot be used to update API keys")
	}
	// Elasticsearch's rule: privileges, metadata and expiration are the
	// owner's to change. Owners and admins may revoke others' keys, not
	// rewrite them (an admin could otherwise widen an owner's key).
	if !k.OwnedBy(p) {
		return ev, Forbidden("only the owner of API key [%s] can update it", k.ID)
	}
	if u.ExpectType != "" && u.ExpectType != k.Type.ESType() {
		return ev, Invalid("cannot update API key of type [%s] while expected type is [%s]", k.Type.ESType(), u.ExpectType)
	}
	if err := authorizeCrossCluster(p, k, ActionUpdateCrossClusterKey); err != nil {
		return ev, err
	}
	if st := k.Status(now); st != StatusActive {
		return ev, Invalid("cannot update %s API key [%s]", st, k.ID)
	}
	if u.Expiration != nil && k.RotatedTo != "" {
		// Extending it would undo the grace of its rotation (rotate.go).
		return ev, Invalid("api key [%s] was rotated to [%s]: its expiration is the end of its grace and cannot change", k.ID, k.RotatedTo)
	}
	rds, err := u.descriptors(k)
	if err != nil {
		return ev, err
	}
	ev.RoleDescriptors = rds
	if u.Metadata != nil {
		if err := CheckMetadata(*u.Metadata); err != nil {
			return ev, err
		}
		m := *u.Metadata
		if m == nil {
			m = map[string]any{}
		}
		ev.Metadata = &m
	}
	if u.Expiration != nil {
		e, err := u.Policy.Expiration(*u.Expiration, now, SurfaceConsole, u.NeverAllowed)
		if err != nil {
			return ev, err
		}
		if e.Never() {
			ev.NeverExpires = true
		} else {
			ev.Expires = &e.At
		}
	}
	if u.SnapshotLimits && k.Type != KeyCrossCluster {
		lb := append([]RoleDescriptors(nil), p.PermissionIn(k.Tenant)...)
		ev.LimitedBy = &lb
	}
	return ev, nil
}

// descriptors are k's new role descriptors, nil for unchanged: given, or
// for a cross-cluster key derived from its new access.
func (u UpdateKey) descriptors(k *Key) (*RoleDescriptors, error) {
	if k.Type == KeyCrossCluster {
		if u.RoleDescriptors != nil {
			return nil, Invalid("cannot set [role_descriptors] of cross-cluster API key [%s]: they are derived from its [access]", k.ID)
		}
		if u.Access == nil {
			return nil, nil
		}
		a, err := ParseCrossClusterAccess(u.Access)
		if err != nil {
			return nil, err
		}
		rds, err := a.Descriptors()
		return &rds, err
	}
	if present(u.Access) {
		return nil, Invalid("[access] is for cross-cluster API keys only: API key [%s] is of type [%s]", k.ID, ESTypeRest)
	}
	if u.RoleDescriptors == nil {
		return nil, nil
	}
	rds, err := ParseRoleDescriptors(u.RoleDescriptors)
	return &rds, err
}

// Noop reports whether the update changes nothing in k (Elasticsearch
// answers "updated": false then, and nothing is appended).
func (u KeyUpdated) Noop(k *Key) bool {
	same := func(a, b any) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return string(x) == string(y)
	}
	if u.RoleDescriptors != nil && !same(*u.RoleDescriptors, k.RoleDescriptors) {
		return false
	}
	if u.Metadata != nil && !same(*u.Metadata, k.Metadata) {
		return false
	}
	if u.Expires != nil && !u.Expires.Equal(k.Expires) {
		return false
	}
	if u.NeverExpires && !k.Expires.IsZero() {
		return false
	}
	if u.LimitedBy != nil && !same(*u.LimitedBy, k.LimitedBy) {
		return false
	}
	return true
}

// DecideInvalidateKey revokes k. It returns ok=false, no error, when the key
// was already invalidated (Elasticsearch's previously_invalidated).
func DecideInvalidateKey(p Principal, k *Key) (KeyInvalidated, bool, error) {
	if err := p.Authorize(ActionInvalidateKey, k.TargetFor(p)); err != nil {
		return KeyInvalidated{}, false, err
	}
	if k.Type == KeyCrossCluster && p.Authorize(ActionInvalidateCrossClusterKey, k.TargetFor(p)) != nil {
		return KeyInvalidated{}, false, Forbidden("Cannot invalidate cross-cluster API key [%s]. This requires [manage_security] cluster privilege or higher", k.ID)
	}
	if k.Invalidated {
		return KeyInvalidated{}, false, nil
	}
	return KeyInvalidated{}, true, nil
}
