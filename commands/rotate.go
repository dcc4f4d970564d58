package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// RotateKey rotates key id of tenant t: a successor like it, answered as a
// create is (the only time its secret is shown), and the key's end moved to
// the end of the grace. The key's KeyRotated, the successor's KeyCreated
// and, with an Idempotency-Key, its claim are one atomic append: the log
// never holds a successor without its predecessor's shortened expiry, nor
// the reverse. A retry with the same Idempotency-Key answers the same
// successor (same id and secret).
func (s *Keys) RotateKey(ctx context.Context, p domain.Principal, m domain.Meta, t domain.TenantID, id domain.KeyID, r domain.RotateKey, idemKey string) (Created, error) {
	// The successor's expiration is decided as a create's: the server's
	// ceiling on never and the organization's key policy (withPolicy, then
	// CreateKey.expires). Its active keys are counted but not limited: a
	// rotation is no create, and its old key ends after the grace.
	r.New.Tenant = t
	r.New = s.withPolicy(r.New, s.now(), map[domain.TenantID]int{})
	// Whether a retry can find the successor is the Idempotency-Key's
	// presence, whichever surface the rotation came by.
	r.Retriable = idemKey != ""
	newID, secret := s.ids.KeyID(), s.ids.Secret()
	var claimID, reqHash string
	if idemKey != "" {
		if len(idemKey) > 256 {
			return Created{}, domain.Invalid("Idempotency-Key must be at most 256 characters")
		}
		claimID, reqHash = rotateIdempotencyIDs(p, t, id, r, idemKey)
		secret = domain.DeriveSecret(s.secretKey, t, idemKey, newID)
	}
	var out Created
	err := change(ctx, &s.core, m, s.loadKey(p, t, id), func(k domain.Key, m domain.Meta) (decision, error) {
		if err := domain.AuthorizeRotateKey(p, &k); err != nil {
			return decision{}, err
		}
		if idemKey != "" {
			if prev, ok := s.claims.Get(t, claimID); ok {
				var err error
				out, err = s.replayRotation(prev, reqHash, t, idemKey, id)
				return decision{}, err
			}
		}
		rot, cre, err := domain.DecideRotateKey(p, &k, r, newID, domain.HashSecret([]byte(secret)), m.Time)
		if err != nil {
			return decision{}, err
		}
		// The successor and the claim come first: a retry that sees the
		// key rotated finds both (replayRotation).
		before := []eventlog.Append{s.event(where{tenant: t, typ: domain.AggKey, id: string(newID)}, m, cre)}
		if idemKey != "" {
			claim := domain.IdempotencyKeyClaimed{KeyID: newID, Request: reqHash}
			before = append(before, s.event(where{tenant: t, typ: domain.AggIdem, id: claimID}, m, claim))
		}
		out = created(newID, cre, secret)
		out.RotatedFrom = k.ID
		return decision{event: rot, before: before}, nil
	})
	if err != nil {
		return Created{}, err
	}
	return out, nil
}

// replayRotation answers a retried rotation with the successor its claim
// names: written in the same append as the claim, so it is there.
func (s *Keys) replayRotation(prev domain.IdempotencyKeyClaimed, reqHash string, t domain.TenantID, idemKey string, from domain.KeyID) (Created, error) {
	id, _, err := s.matchClaim(prev, reqHash)
	if err != nil {
		return Created{}, err
	}
	k, ok := s.keys.Get(t, id)
	if !ok || k.RotatedFrom != from {
		return Created{}, domain.Conflict("Idempotency-Key was already used for a different request")
	}
	secret := domain.DeriveSecret(s.secretKey, t, idemKey, id)
	return Created{ID: id, Name: k.Name, Expires: k.Expires, Secret: secret, Encoded: domain.Encode(id, secret),
		Replayed: true, RotatedFrom: from}, nil
}

// rotateIdempotencyIDs names a rotation's claim (scoped to the caller and
// the rotated key) and hashes what the request asks, as idempotencyIDs
// does for creates.
func rotateIdempotencyIDs(p domain.Principal, t domain.TenantID, id domain.KeyID, r domain.RotateKey, idemKey string) (claimID, reqHash string) {
	h := sha256.New()
	for _, s := range []string{"rotate", string(p.Kind), p.User, p.RealmName(), string(p.KeyID), string(t), string(id), idemKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	claimID = hex.EncodeToString(h.Sum(nil))[:40]
	sum := sha256.Sum256([]byte(r.Grace + "\x00" + r.New.Expiration))
	return claimID, hex.EncodeToString(sum[:])
}
