package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// KeyReader is the command side's view of key aggregates.
type KeyReader interface {
	Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool)
}

// ClaimReader finds Idempotency-Key claims.
type ClaimReader interface {
	Get(t domain.TenantID, id string) (domain.IdempotencyKeyClaimed, bool)
}

// KeysConfig is what key commands read besides the log.
type KeysConfig struct {
	Keys   KeyReader
	Claims ClaimReader
	// SecretKey derives the secrets of idempotent creates (see
	// domain.DeriveSecret); it is shared by every replica.
	SecretKey []byte
	// NeverAllowed lets keys be created with expiration "never".
	NeverAllowed bool
	// Orgs finds an organization's key policy (tenants.Directory); nil,
	// no organization has one.
	Orgs OrgReader
	// Active counts an organization's active keys (projections.Keys), for
	// max_active_keys; nil, no limit is enforced.
	Active ActiveCounter
}

// OrgReader finds organizations (their key policy).
type OrgReader interface {
	Org(ref string) (*domain.Org, bool)
}

// ActiveCounter counts an organization's active keys at now.
type ActiveCounter interface {
	Active(t domain.TenantID, now time.Time) int
}

// Keys runs key commands.
type Keys struct {
	core
	keys         KeyReader
	claims       ClaimReader
	secretKey    []byte
	neverAllowed bool
	orgs         OrgReader
	active       ActiveCounter
	// creating is the creates under way per organization whose policy
	// limits its active keys (reserveActive).
	creating struct {
		mu sync.Mutex
		n  map[domain.TenantID]int
	}
}

// reserveActive counts, for each organization of cs whose policy limits
// its active keys, its active keys and the creates under way on this
// replica, and counts cs among the latter until release (called once their
// keys are in the projections, or refused). Counted from the projections
// alone, twenty concurrent creates each saw room for one more and all
// passed a limit of three. (Replicas do not see each other's creates under
// way: across them the limit can still be passed by those in flight.)
func (s *Keys) reserveActive(cs []domain.CreateKey, now time.Time) (counted map[domain.TenantID]int, release func()) {
	counted = map[domain.TenantID]int{}
	adding := map[domain.TenantID]int{}
	if s.active == nil {
		return counted, func() {}
	}
	for _, c := range cs {
		if s.policy(c.Tenant).MaxActiveKeys > 0 {
			adding[c.Tenant]++
		}
	}
	if len(adding) == 0 {
		return counted, func() {}
	}
	s.creating.mu.Lock()
	defer s.creating.mu.Unlock()
	if s.creating.n == nil {
		s.creating.n = map[domain.TenantID]int{}
	}
	for t, n := range adding {
		counted[t] = s.active.Active(t, now) + s.creating.n[t]
		s.creating.n[t] += n
	}
	return counted, func() {
		s.creating.mu.Lock()
		defer s.creating.mu.Unlock()
		for t, n := range adding {
			if s.creating.n[t] -= n; s.creating.n[t] <= 0 {
				delete(s.creating.n, t)
			}
		}
	}
}

// NeverAllowed is the server's ceiling on keys that never expire
// (--allow-never-expiring): no organization's policy can lift it.
func (s *Keys) NeverAllowed() bool { return s.neverAllowed }

// policy is organization t's key policy; none without an OrgReader.
func (s *Keys) policy(t domain.TenantID) domain.KeyPolicy {
	if s.orgs == nil {
		return domain.KeyPolicy{}
	}
	if o, ok := s.orgs.Org(string(t)); ok && o.ID == t {
		return o.Policy
	}
	return domain.KeyPolicy{}
}

// withPolicy completes a create with what the decision reads besides the
// request: the server's ceiling on never, the organization's policy and,
// when the policy limits them, its active keys (counted once per
// organization in counted, which a batch shares).
func (s *Keys) withPolicy(c domain.CreateKey, now time.Time, counted map[domain.TenantID]int) domain.CreateKey {
	c.NeverAllowed = c.NeverAllowed || s.neverAllowed
	c.Policy = s.policy(c.Tenant)
	if c.Policy.MaxActiveKeys > 0 && s.active != nil {
		n, ok := counted[c.Tenant]
		if !ok {
			n = s.active.Active(c.Tenant, now)
		}
		c.ActiveKeys = n
		counted[c.Tenant] = n + 1
	}
	return c
}

// NewKeys returns the key commands.
func NewKeys(d Deps, c KeysConfig) *Keys {
	secret := c.SecretKey
	if len(secret) == 0 {
		// Never derive idempotent secrets under an empty key, which anyone
		// could compute: a key of this process instead (a retry is then
		// answered the same secret by this process only; app always gives
		// the replicas' shared secret).
		secret = []byte(randomText(32))
	}
	return &Keys{core: newCore(d), keys: c.Keys, claims: c.Claims, secretKey: secret, neverAllowed: c.NeverAllowed,
		orgs: c.Orgs, active: c.Active}
}

// Created is the answer to a create: the only place the secret appears.
type Created struct {
	ID      domain.KeyID
	Name    string
	Expires time.Time // zero: never
	Secret  domain.Secret
	Encoded string
	// Replayed is true when an Idempotency-Key matched an earlier create.
	Replayed bool
	// RotatedFrom is the key a rotation made this one succeed.
	RotatedFrom domain.KeyID
}

// CreateKey creates a key. With an Idempotency-Key, a retry of the same
// request answers the same key (same id and secret) instead of a second one.
func (s *Keys) CreateKey(ctx context.Context, p domain.Principal, m domain.Meta, c domain.CreateKey, idemKey string) (Created, error) {
	now := s.now()
	m.Time = now
	var claimID, reqHash string
	if idemKey != "" {
		if len(idemKey) > 256 {
			return Created{}, domain.Invalid("Idempotency-Key must be at most 256 characters")
		}
		claimID, reqHash = idempotencyIDs(p, c, idemKey)
		// A retry answers the key it made, even if the policy has changed
		// since or the key itself now fills max_active_keys; but only to a
		// caller who may still make it (authority, input), as before.
		c.NeverAllowed = c.NeverAllowed || s.neverAllowed
		if _, err := domain.DecideCreateKey(p, c, "", domain.SecretHash{}, now); err != nil {
			return Created{}, err
		}
		if out, ok := s.replayed(c.Tenant, claimID, reqHash, idemKey); ok {
			return out, nil
		}
	}
	counted, release := s.reserveActive([]domain.CreateKey{c}, now)
	defer release()
	c = s.withPolicy(c, now, counted)
	id := s.ids.KeyID()
	secret := s.ids.Secret()
	// Validate before claiming, so that a bad request does not burn the key.
	if _, err := domain.DecideCreateKey(p, c, id, domain.HashSecret([]byte(secret)), now); err != nil {
		return Created{}, err
	}
	if idemKey != "" {
		claimed, replay, err := s.claim(ctx, p, m, c.Tenant, claimID, reqHash, id)
		if err != nil {
			return Created{}, err
		}
		id = claimed
		secret = domain.DeriveSecret(s.secretKey, c.Tenant, idemKey, id)
		if replay {
			if k, ok := s.keys.Get(c.Tenant, id); ok {
				return Created{ID: id, Name: k.Name, Expires: k.Expires, Secret: secret, Encoded: domain.Encode(id, secret), Replayed: true}, nil
			}
			// Claimed but the key was never written (a crash in between):
			// finish the create under the claimed id.
		}
	}
	ev, err := domain.DecideCreateKey(p, c, id, domain.HashSecret([]byte(secret)), now)
	if err != nil {
		return Created{}, err
	}
	a, _, err := s.create(ctx, where{tenant: c.Tenant, typ: domain.AggKey, id: string(id)}, m, ev)
	if domain.IsKind(err, domain.KindConflict) && idemKey != "" {
		// A concurrent retry of the same request wrote it first.
		if err := s.store.AwaitLast(ctx, s.wait, eventlog.Subject(a.Event)); err != nil {
			return Created{}, err
		}
		k, _ := s.keys.Get(c.Tenant, id)
		return Created{ID: id, Name: k.Name, Expires: k.Expires, Secret: secret, Encoded: domain.Encode(id, secret), Replayed: true}, nil
	}
	if err != nil {
		return Created{}, err
	}
	return created(id, ev, secret), nil
}

// replayed is the answer to a retried create whose key exists.
func (s *Keys) replayed(t domain.TenantID, claimID, reqHash, idemKey string) (Created, bool) {
	prev, ok := s.claims.Get(t, claimID)
	if !ok || prev.Request != reqHash {
		return Created{}, false
	}
	k, ok := s.keys.Get(t, prev.KeyID)
	if !ok {
		return Created{}, false
	}
	secret := domain.DeriveSecret(s.secretKey, t, idemKey, k.ID)
	return Created{ID: k.ID, Name: k.Name, Expires: k.Expires, Secret: secret, Encoded: domain.Encode(k.ID, secret), Replayed: true}, true
}

// created is the answer to the create of key id.
func created(id domain.KeyID, ev domain.KeyCreated, secret domain.Secret) Created {
	out := Created{ID: id, Name: ev.Name, Secret: secret, Encoded: domain.Encode(id, secret)}
	if ev.Expires != nil {
		out.Expires = *ev.Expires
	}
	return out
}

// MaxCreateKeys bounds one CreateKeys: the log's largest atomic batch.
const MaxCreateKeys = 1000

// CreateKeys creates several keys for p at once. Every one is decided
// first, and the first refused one refuses them all; then they are
// appended as one atomic batch: either all of them exist or none does.
func (s *Keys) CreateKeys(ctx context.Context, p domain.Principal, m domain.Meta, cs []domain.CreateKey) ([]Created, error) {
	if len(cs) > MaxCreateKeys {
		return nil, domain.Invalid("at most [%d] api keys may be created at once", MaxCreateKeys)
	}
	now := s.now()
	m.Time = now
	out := make([]Created, len(cs))
	apps := make([]eventlog.Append, len(cs))
	// The batch's earlier keys count towards max_active_keys, as do the
	// creates under way.
	counted, release := s.reserveActive(cs, now)
	defer release()
	for i, c := range cs {
		c = s.withPolicy(c, now, counted)
		id, secret := s.ids.KeyID(), s.ids.Secret()
		ev, err := domain.DecideCreateKey(p, c, id, domain.HashSecret([]byte(secret)), now)
		if err != nil {
			return nil, err
		}
		apps[i] = s.event(where{tenant: c.Tenant, typ: domain.AggKey, id: string(id)}, m, ev)
		out[i] = created(id, ev, secret)
	}
	if _, err := s.store.Commit(ctx, s.wait, apps...); err != nil {
		return nil, err
	}
	return out, nil
}

// claim takes the Idempotency-Key for key id, or finds who has it.
func (s *Keys) claim(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, claimID, reqHash string, id domain.KeyID) (domain.KeyID, bool, error) {
	if prev, ok := s.claims.Get(t, claimID); ok {
		return s.matchClaim(prev, reqHash)
	}
	a, _, err := s.create(ctx, where{tenant: t, typ: domain.AggIdem, id: claimID}, m, domain.IdempotencyKeyClaimed{KeyID: id, Request: reqHash})
	if domain.IsKind(err, domain.KindConflict) {
		// Someone claimed it first; unavailable if that cannot be read (the
		// Idempotency-Key makes a retry safe).
		if err := s.store.AwaitLast(ctx, s.wait, eventlog.Subject(a.Event)); err != nil {
			return "", false, err
		}
		prev, _ := s.claims.Get(t, claimID)
		return s.matchClaim(prev, reqHash)
	}
	if err != nil {
		return "", false, err
	}
	return id, false, nil
}

func (s *Keys) matchClaim(prev domain.IdempotencyKeyClaimed, reqHash string) (domain.KeyID, bool, error) {
	if prev.Request != reqHash {
		return "", false, domain.Conflict("Idempotency-Key was already used for a different request")
	}
	return prev.KeyID, true, nil
}

// idempotencyIDs names the claim subject (scoped to the caller and the key's
// scope) and hashes the request, so a reuse with another body is detected.
func idempotencyIDs(p domain.Principal, c domain.CreateKey, idemKey string) (claimID, reqHash string) {
	h := sha256.New()
	parts := []string{string(p.Kind), p.User, string(p.KeyID), string(c.Scope), string(c.Project), idemKey}
	if p.RealmName() != domain.RealmMembers {
		// Claims are per principal: a project user and a member of the
		// same name never share one. Members' claim ids are as before.
		parts = append(parts, p.RealmName())
	}
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	claimID = hex.EncodeToString(h.Sum(nil))[:40]
	fields := []any{c.Name, c.Expiration, json.RawMessage(orNull(c.RoleDescriptors)), c.Metadata, c.Type}
	if len(c.Access) > 0 {
		// Only cross-cluster creates carry it: every other request hashes
		// as before, so retries across an upgrade still match their claims.
		fields = append(fields, json.RawMessage(c.Access))
	}
	body, _ := json.Marshal(fields)
	sum := sha256.Sum256(body)
	return claimID, hex.EncodeToString(sum[:])
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// UpdateKey changes a key's privileges and metadata (and expiration where
// asked). It reports false when the update changed nothing.
func (s *Keys) UpdateKey(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, id domain.KeyID, u domain.UpdateKey) (bool, error) {
	u.NeverAllowed = u.NeverAllowed || s.neverAllowed
	u.Policy = s.policy(t)
	changed := false
	err := change(ctx, &s.core, m, s.loadKey(p, t, id), func(k domain.Key, m domain.Meta) (decision, error) {
		ev, err := domain.DecideUpdateKey(p, &k, u, m.Time)
		changed = err == nil && !ev.Noop(&k)
		if !changed {
			return decision{}, err
		}
		return decision{event: ev}, nil
	})
	return changed, err
}

// InvalidateKey revokes a key. It reports false when the key was already
// invalidated.
func (s *Keys) InvalidateKey(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, id domain.KeyID, reason string) (bool, error) {
	did := false
	err := change(ctx, &s.core, m, s.loadKey(p, t, id), func(k domain.Key, m domain.Meta) (decision, error) {
		ev, fresh, err := domain.DecideInvalidateKey(p, &k)
		did = err == nil && fresh
		if !did {
			return decision{}, err
		}
		ev.Reason = reason
		return decision{event: ev}, nil
	})
	return did, err
}

// loadKey loads key id as p may see it.
func (s *Keys) loadKey(p domain.Principal, t domain.TenantID, id domain.KeyID) func(func(domain.Key, where)) error {
	return func(use func(domain.Key, where)) error {
		k, ok := s.visibleKey(p, t, id)
		if !ok {
			return domain.NotFound("api key [%s] not found", id)
		}
		use(k, where{tenant: t, typ: domain.AggKey, id: string(id), seq: k.Seq})
		return nil
	}
}

// visibleKey finds a key the principal can see at all; anything else is
// not found, whoever owns it.
func (s *Keys) visibleKey(p domain.Principal, t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	k, ok := s.keys.Get(t, id)
	if !ok || !p.InTenant(t) {
		return domain.Key{}, false
	}
	if k.Scope == domain.ScopeProject && !p.InProject(t, k.Project) {
		return domain.Key{}, false
	}
	if p.Kind == domain.ActorKey && p.Scope == domain.ScopeProject && k.Scope == domain.ScopeOrg {
		return domain.Key{}, false
	}
	return k, true
}
