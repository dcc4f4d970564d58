package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"
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

// Service runs key commands.
type Service struct {
	Log    *eventlog.Log
	Wait   eventlog.Waiter
	Keys   KeyReader
	Claims ClaimReader
	// SecretKey derives the secrets of idempotent creates (see
	// domain.DeriveSecret); it is shared by every replica.
	SecretKey []byte
	// NeverAllowed lets keys be created with expiration "never".
	NeverAllowed bool
	Now          func() time.Time
	// IDs makes new key ids and secrets; nil means RandomIDs.
	IDs IDSource
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
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
}

// CreateKey creates a key. With an Idempotency-Key, a retry of the same
// request answers the same key (same id and secret) instead of a second one.
func (s *Service) CreateKey(ctx context.Context, p domain.Principal, m domain.Meta, c domain.CreateKey, idemKey string) (Created, error) {
	c.NeverAllowed = c.NeverAllowed || s.NeverAllowed
	now := s.now()
	m.Time = now
	id := s.ids().KeyID()
	secret := s.ids().Secret()
	var claimID, reqHash string
	if idemKey != "" {
		if len(idemKey) > 256 {
			return Created{}, domain.Invalid("Idempotency-Key must be at most 256 characters")
		}
		claimID, reqHash = idempotencyIDs(p, c, idemKey)
	}
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
		secret = domain.DeriveSecret(s.SecretKey, c.Tenant, idemKey, id)
		if replay {
			if k, ok := s.Keys.Get(c.Tenant, id); ok {
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
	e := domain.NewEvent(uuid.NewString(), c.Tenant, domain.AggKey, string(id), m, ev)
	_, err = s.Log.Commit(ctx, s.Wait, eventlog.Append{Event: e, Expect: 0})
	if domain.IsKind(err, domain.KindConflict) && idemKey != "" {
		// A concurrent retry of the same request wrote it first.
		if err := s.Log.AwaitLast(ctx, s.Wait, eventlog.Subject(e)); err != nil {
			return Created{}, err
		}
		k, _ := s.Keys.Get(c.Tenant, id)
		return Created{ID: id, Name: k.Name, Expires: k.Expires, Secret: secret, Encoded: domain.Encode(id, secret), Replayed: true}, nil
	}
	if err != nil {
		return Created{}, err
	}
	out := Created{ID: id, Name: ev.Name, Secret: secret, Encoded: domain.Encode(id, secret)}
	if ev.Expires != nil {
		out.Expires = *ev.Expires
	}
	return out, nil
}

// claim takes the Idempotency-Key for key id, or finds who has it.
func (s *Service) claim(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, claimID, reqHash string, id domain.KeyID) (domain.KeyID, bool, error) {
	if prev, ok := s.Claims.Get(t, claimID); ok {
		return s.matchClaim(prev, reqHash)
	}
	ev := domain.NewEvent(uuid.NewString(), t, domain.AggIdem, claimID, m, domain.IdempotencyKeyClaimed{KeyID: id, Request: reqHash})
	_, err := s.Log.Commit(ctx, s.Wait, eventlog.Append{Event: ev, Expect: 0})
	if domain.IsKind(err, domain.KindConflict) {
		// Someone claimed it first; unavailable if that cannot be read (the
		// Idempotency-Key makes a retry safe).
		if err := s.Log.AwaitLast(ctx, s.Wait, eventlog.Subject(ev)); err != nil {
			return "", false, err
		}
		prev, _ := s.Claims.Get(t, claimID)
		return s.matchClaim(prev, reqHash)
	}
	if err != nil {
		return "", false, err
	}
	return id, false, nil
}

func (s *Service) matchClaim(prev domain.IdempotencyKeyClaimed, reqHash string) (domain.KeyID, bool, error) {
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
	body, _ := json.Marshal([]any{c.Name, c.Expiration, json.RawMessage(orNull(c.RoleDescriptors)), c.Metadata, c.Type})
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
func (s *Service) UpdateKey(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, id domain.KeyID, u domain.UpdateKey) (bool, error) {
	u.NeverAllowed = u.NeverAllowed || s.NeverAllowed
	changed := false
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		k, ok := s.visibleKey(p, t, id)
		if !ok {
			return nil, domain.NotFound("api key [%s] not found", id)
		}
		now := s.now()
		ev, err := domain.DecideUpdateKey(p, &k, u, now)
		if err != nil {
			return nil, err
		}
		if ev.Noop(&k) {
			changed = false
			return nil, nil
		}
		changed = true
		m.Time = now
		return []eventlog.Append{{Event: domain.NewEvent(uuid.NewString(), t, domain.AggKey, string(id), m, ev), Expect: k.Seq}}, nil
	})
	return changed, err
}

// InvalidateKey revokes a key. It reports false when the key was already
// invalidated.
func (s *Service) InvalidateKey(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, id domain.KeyID, reason string) (bool, error) {
	did := false
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		k, ok := s.visibleKey(p, t, id)
		if !ok {
			return nil, domain.NotFound("api key [%s] not found", id)
		}
		ev, fresh, err := domain.DecideInvalidateKey(p, &k)
		if err != nil || !fresh {
			did = false
			return nil, err
		}
		did = true
		ev.Reason = reason
		m.Time = s.now()
		return []eventlog.Append{{Event: domain.NewEvent(uuid.NewString(), t, domain.AggKey, string(id), m, ev), Expect: k.Seq}}, nil
	})
	return did, err
}

// visibleKey finds a key the principal can see at all; anything else is
// not found, whoever owns it.
func (s *Service) visibleKey(p domain.Principal, t domain.TenantID, id domain.KeyID) (domain.Key, bool) {
	k, ok := s.Keys.Get(t, id)
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
