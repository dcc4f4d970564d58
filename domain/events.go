package domain

import (
	"encoding/json"
	"time"
)

// Scope of a key: the whole organization, or one project.
type Scope string

const (
	ScopeOrg     Scope = "org"
	ScopeProject Scope = "project"
)

// KeyType: personal keys act on behalf of a member; managed keys are created
// by keyplane (or an owner for it) to run background work.
type KeyType string

const (
	KeyPersonal KeyType = "personal"
	KeyManaged  KeyType = "managed"
)

// Owner is whom a key belongs to: the member it acts for (user name), and,
// for a key created by a key, the creating key.
type Owner struct {
	User  string `json:"user"`
	Realm string `json:"realm"`
	// ByKey is the id of the API key that created this key, if any.
	ByKey KeyID `json:"by_key,omitempty"`
}

// KeyCreated v1: a key came to be. The hash, never the secret.
type KeyCreated struct {
	KeyID           KeyID           `json:"key_id"`
	Name            string          `json:"name"`
	Scope           Scope           `json:"scope"`
	Project         ProjectID       `json:"project,omitempty"`
	Type            KeyType         `json:"type"`
	Owner           Owner           `json:"owner"`
	Hash            string          `json:"hash"`
	Expires         *time.Time      `json:"expires,omitempty"`
	RoleDescriptors RoleDescriptors `json:"role_descriptors"`
	// LimitedBy is what bounds the key besides its owner's current role: for
	// a key created by a key, the creating key's permission.
	LimitedBy []RoleDescriptors `json:"limited_by,omitempty"`
	Metadata  map[string]any    `json:"metadata"`
	// RotatedFrom is the key this one succeeds when a rotation made it (in
	// one atomic append with that key's KeyRotated). Absent for every
	// other create, so the payloads written before it are unchanged; a
	// reader that drops it loses only the lineage, never a privilege.
	RotatedFrom KeyID `json:"rotated_from,omitempty"`
}

func (KeyCreated) EventType() string { return "KeyCreated" }

// EventVersion is 2 for a cross-cluster key and 1 for every other key, so
// that rest keys are written as before, byte for byte, while a keyplane
// that predates cross-cluster keys refuses their creation (fails closed
// for that key) instead of reading a key it would let authenticate REST
// requests. The payload's shape is the same in both.
func (e KeyCreated) EventVersion() int {
	if e.Type == KeyCrossCluster {
		return 2
	}
	return 1
}

// registerKeyCreated reads both versions, each holding only its own keys:
// a v1 naming a cross-cluster key (or a v2 any other) is refused, not
// read under the other version's meaning.
func registerKeyCreated() {
	eventTypes["KeyCreated"] = "KeyCreated"
	for _, v := range []int{1, 2} {
		decoders[decoderKey{"KeyCreated", v}] = func(b []byte) (Payload, error) {
			var p KeyCreated
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			if p.EventVersion() != v {
				return nil, E(KindInternal, "KeyCreated v%d cannot hold a key of type [%s]", v, p.Type)
			}
			return p, nil
		}
	}
}

// KeyUpdated v2: privileges, metadata, expiration or (since v2) the
// owner's permission recorded as limited_by changed. A nil field is
// unchanged. v2 is a new version, not a new optional field, because a
// reader that dropped limited_by would keep a key's old, possibly wider,
// limits: an older keyplane must refuse v2 rather than misread it.
type KeyUpdated struct {
	RoleDescriptors *RoleDescriptors   `json:"role_descriptors,omitempty"`
	Metadata        *map[string]any    `json:"metadata,omitempty"`
	Expires         *time.Time         `json:"expires,omitempty"`
	NeverExpires    bool               `json:"never_expires,omitempty"`
	LimitedBy       *[]RoleDescriptors `json:"limited_by,omitempty"`
}

func (KeyUpdated) EventType() string { return "KeyUpdated" }
func (KeyUpdated) EventVersion() int { return 2 }

// keyUpdatedV1 is KeyUpdated before limited_by could change; it is read by
// upcasting to v2 with limited_by unchanged.
type keyUpdatedV1 struct {
	RoleDescriptors *RoleDescriptors `json:"role_descriptors,omitempty"`
	Metadata        *map[string]any  `json:"metadata,omitempty"`
	Expires         *time.Time       `json:"expires,omitempty"`
	NeverExpires    bool             `json:"never_expires,omitempty"`
}

func (keyUpdatedV1) EventType() string { return "KeyUpdated" }
func (keyUpdatedV1) EventVersion() int { return 1 }

func upcastKeyUpdatedV1(o keyUpdatedV1) KeyUpdated {
	return KeyUpdated{RoleDescriptors: o.RoleDescriptors, Metadata: o.Metadata, Expires: o.Expires, NeverExpires: o.NeverExpires}
}

// KeyInvalidated v1: the key was revoked.
type KeyInvalidated struct {
	Reason string `json:"reason,omitempty"`
}

func (KeyInvalidated) EventType() string { return "KeyInvalidated" }
func (KeyInvalidated) EventVersion() int { return 1 }

// OrgCreated v1: an organization with its first owner.
type OrgCreated struct {
	OrgID TenantID `json:"org_id"`
	Name  string   `json:"name"`
	Owner string   `json:"owner"`
}

func (OrgCreated) EventType() string { return "OrgCreated" }
func (OrgCreated) EventVersion() int { return 1 }

// OrgNameClaimed v1: an organization name is taken (create-if-absent).
type OrgNameClaimed struct {
	Name  string   `json:"name"`
	OrgID TenantID `json:"org_id"`
}

func (OrgNameClaimed) EventType() string { return "OrgNameClaimed" }
func (OrgNameClaimed) EventVersion() int { return 1 }

// ProjectCreated v1.
type ProjectCreated struct {
	ProjectID ProjectID `json:"project_id"`
	Name      string    `json:"name"`
}

func (ProjectCreated) EventType() string { return "ProjectCreated" }
func (ProjectCreated) EventVersion() int { return 1 }

// Role of a member in an organization.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// ValidRole reports whether r is one of the three roles.
func ValidRole(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleViewer }

// MemberAdded v1: a user joined an organization with a role (or had it
// changed: the last event wins).
type MemberAdded struct {
	User string `json:"user"`
	Role Role   `json:"role"`
}

func (MemberAdded) EventType() string { return "MemberAdded" }
func (MemberAdded) EventVersion() int { return 1 }

// ContactsSet v1: the organization's operational contacts were replaced.
type ContactsSet struct {
	Emails []string `json:"emails"`
}

func (ContactsSet) EventType() string { return "ContactsSet" }
func (ContactsSet) EventVersion() int { return 1 }

// UserCreated v1: a login. PasswordHash is an argon2id PHC string.
type UserCreated struct {
	Name         string `json:"name"`
	Email        string `json:"email"`
	FullName     string `json:"full_name,omitempty"`
	PasswordHash string `json:"password_hash"`
}

func (UserCreated) EventType() string { return "UserCreated" }
func (UserCreated) EventVersion() int { return 1 }

// IdempotencyKeyClaimed v1: a create's Idempotency-Key, claimed with
// expected sequence 0 so that it can be used once, forever.
type IdempotencyKeyClaimed struct {
	KeyID KeyID `json:"key_id"`
	// Request is a hash of the request body: the same key with another body
	// is a client error, not a retry.
	Request string `json:"request"`
}

func (IdempotencyKeyClaimed) EventType() string { return "IdempotencyKeyClaimed" }
func (IdempotencyKeyClaimed) EventVersion() int { return 1 }

func init() {
	registerKeyCreated()
	register(KeyUpdated{})
	registerUpcast(keyUpdatedV1{}, upcastKeyUpdatedV1)
	register(KeyInvalidated{})
	register(OrgCreated{})
	register(OrgNameClaimed{})
	register(ProjectCreated{})
	register(MemberAdded{})
	register(ContactsSet{})
	register(UserCreated{})
	register(IdempotencyKeyClaimed{})
}

// RawJSON is a helper for payload fields kept as raw JSON.
type RawJSON = json.RawMessage
