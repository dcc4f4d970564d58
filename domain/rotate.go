package domain

import (
	"strings"
	"time"
)

// ActionRotateKey is rotating a key: a successor like it, and the key's end
// after a grace. Under api_key/*, so manage_own_api_key grants it for the
// caller's own keys.
const ActionRotateKey = "cluster:admin/xpack/security/api_key/rotate"

// DefaultRotationGrace is how long a rotated key keeps working when the
// caller names no grace: a day to roll the successor out.
const DefaultRotationGrace = 24 * time.Hour

// KeyRotated v1: the key was rotated. Its successor RotatedTo was created
// in the same atomic append (a KeyCreated naming this key in rotated_from),
// and the key now ends at Expires, the end of the grace (never later than
// it ended before).
type KeyRotated struct {
	RotatedTo KeyID     `json:"rotated_to"`
	Expires   time.Time `json:"expires"`
}

func (KeyRotated) EventType() string { return "KeyRotated" }
func (KeyRotated) EventVersion() int { return 1 }

func init() { register(KeyRotated{}) }

// RotateKey is the command to rotate a key.
type RotateKey struct {
	// Grace is how long the old key keeps working ("24h", "7d", "0s"):
	// empty is DefaultRotationGrace.
	Grace string
	// New decides the successor's expiration exactly as a create's
	// (CreateKey.expires: its Expiration, the organization's key policy
	// and the server's ceiling on never), and New.Policy bounds the grace
	// (max_grace); everything else about the successor is the rotated
	// key's.
	New CreateKey
	// Retriable says the rotation carries an Idempotency-Key, which a key
	// rotating itself must (selfGrace).
	Retriable bool
}

// maxGraceBytes bounds a grace before it is read (and echoed in errors).
const maxGraceBytes = 32

// ParseGrace reads a rotation's grace: a duration from 0s (the old key ends
// at once) up to MaxKeyLifetime.
func ParseGrace(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultRotationGrace, nil
	}
	if len(s) > maxGraceBytes {
		return 0, Invalid("grace is %d bytes, over the limit of %d: use a duration such as 24h, 7d or 0s", len(s), maxGraceBytes)
	}
	d, ok := parseDuration(s)
	if !ok {
		return 0, Invalid("failed to parse grace [%s]: use a duration such as 24h, 7d or 0s", s)
	}
	if d < 0 || d > MaxKeyLifetime {
		return 0, Invalid("grace [%s] must be from 0s to 100 years", s)
	}
	return d, nil
}

// AuthorizeRotateKey is who may rotate k: its owner, which for an API key
// is the key itself (Principal.Owns), with a privilege that covers rotating
// one's own key (manage_own_api_key, manage_api_key, ...). An admin may
// revoke another member's key but not rotate it: the successor's secret
// would be the admin's to read.
func AuthorizeRotateKey(p Principal, k *Key) error {
	if err := p.Authorize(ActionRotateKey, k.TargetFor(p)); err != nil {
		return err
	}
	if !k.OwnedBy(p) {
		return Forbidden("only the owner of API key [%s] can rotate it", k.ID)
	}
	// The successor of a cross-cluster key is a new one: its creator
	// needs what creating one needs.
	return authorizeCrossCluster(p, k, ActionCreateCrossClusterKey)
}

// DecideRotateKey rotates k: it returns the key's KeyRotated and the
// successor's KeyCreated (id, secret hash h), which must be appended
// together, atomically. The successor keeps k's name, scope, project,
// type, owner, role descriptors, limits and metadata.
func DecideRotateKey(p Principal, k *Key, r RotateKey, id KeyID, h SecretHash, now time.Time) (KeyRotated, KeyCreated, error) {
	var rot KeyRotated
	var cre KeyCreated
	if err := AuthorizeRotateKey(p, k); err != nil {
		return rot, cre, err
	}
	if k.RotatedTo != "" {
		return rot, cre, Conflict("api key [%s] was already rotated to [%s]: rotate that key instead", k.ID, k.RotatedTo)
	}
	if st := k.Status(now); st != StatusActive {
		return rot, cre, Invalid("cannot rotate %s API key [%s]", st, k.ID)
	}
	grace, err := ParseGrace(r.Grace)
	if err != nil {
		return rot, cre, err
	}
	c := r.New
	if strings.TrimSpace(r.Grace) == "" {
		grace = c.Policy.defaultGrace()
	}
	if err := c.Policy.CheckGrace(grace); err != nil {
		return rot, cre, err
	}
	if err := selfGrace(p, k, c.Policy, grace, r.Retriable); err != nil {
		return rot, cre, err
	}
	c.Tenant, c.Scope, c.Project, c.Type, c.Name = k.Tenant, k.Scope, k.Project, k.Type, k.Name
	expires, err := c.expires(now)
	if err != nil {
		return rot, cre, err
	}
	if expires, err = selfRenewal(p, k, c.Expiration, expires, now); err != nil {
		return rot, cre, err
	}
	end := now.Add(grace).UTC()
	if !k.Expires.IsZero() && k.Expires.Before(end) {
		end = k.Expires
	}
	md, rds := k.Metadata, k.RoleDescriptors
	if md == nil {
		md = map[string]any{}
	}
	if rds == nil {
		rds = RoleDescriptors{}
	}
	rot = KeyRotated{RotatedTo: id, Expires: end}
	cre = KeyCreated{KeyID: id, Name: k.Name, Scope: k.Scope, Project: k.Project, Type: k.Type, Owner: k.Owner,
		Hash: h.String(), Expires: expires, RoleDescriptors: rds, LimitedBy: k.LimitedBy, Metadata: md,
		RotatedFrom: k.ID}
	return rot, cre, nil
}

// MinSelfGrace is the shortest grace a key rotating itself may give
// itself (unless the organization's max_grace is shorter).
const MinSelfGrace = time.Minute

// selfGrace makes sure a key rotating itself can learn its successor: the
// old key is the service's only credential until the answer with the new
// one reaches it, so a lost answer must be answered again to a retry. The
// rotation needs an Idempotency-Key (without one, the retry finds the key
// rotated, 409, and the successor's secret is gone), and a grace of at
// least MinSelfGrace, for the retry to still authenticate.
func selfGrace(p Principal, k *Key, pol KeyPolicy, grace time.Duration, retriable bool) error {
	if p.Kind != ActorKey || p.KeyID != k.ID {
		return nil
	}
	if !retriable {
		return Invalid("api key [%s] rotating itself must send an Idempotency-Key header: a retry with it answers the same new key if the first answer was lost", k.ID)
	}
	if grace >= MinSelfGrace {
		return nil
	}
	if max, ok := pol.maxGrace(); ok && grace >= max {
		return nil // the organization wants rotated keys to end sooner
	}
	return Invalid("api key [%s] rotating itself must keep a grace of at least %s [grace: %s]: a lost answer would otherwise leave the service without a credential; its owner may rotate it with a shorter grace", k.ID, formatDuration(MinSelfGrace), formatDuration(grace))
}

// selfRenewal bounds the successor of a key that rotates itself: it lives
// no longer than the lifetime its owner gave the key (from its creation to
// its expiration, never only for a key that never expired). Otherwise a
// key made to last an hour could renew itself for ever, with nobody but
// itself asking. A missing expiration is shortened to that lifetime; one
// asked beyond it is refused.
func selfRenewal(p Principal, k *Key, requested string, expires *time.Time, now time.Time) (*time.Time, error) {
	if p.Kind != ActorKey || p.KeyID != k.ID || k.Expires.IsZero() {
		return expires, nil
	}
	life := k.Expires.Sub(k.Created)
	if expires != nil && expires.Sub(now) <= life {
		return expires, nil
	}
	if strings.TrimSpace(requested) != "" {
		return nil, Invalid("api key [%s] rotating itself cannot give its successor an expiration [%s] beyond its own lifetime of %s: its owner may", k.ID, requested, formatDuration(life.Round(time.Second)))
	}
	end := now.Add(life).UTC()
	return &end, nil
}
