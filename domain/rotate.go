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
	if err := p.Authorize(ActionRotateKey, Target{Tenant: k.Tenant, Project: k.Project, Own: k.OwnedBy(p)}); err != nil {
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
	if err := c.Policy.CheckGrace(grace); err != nil {
		return rot, cre, err
	}
	c.Tenant, c.Scope, c.Project, c.Type, c.Name = k.Tenant, k.Scope, k.Project, k.Type, k.Name
	expires, err := c.expires(now)
	if err != nil {
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
