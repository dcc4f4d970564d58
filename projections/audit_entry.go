package projections

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// AuditEntry is one event as the audit API and `keyplane audit export`
// show it. Its JSON is a stable, documented schema (README, "Audit
// export"): fields are added, never renamed or removed.
type AuditEntry struct {
	Seq           uint64           `json:"seq"`
	ID            string           `json:"id"`
	Time          time.Time        `json:"time"`
	Org           domain.TenantID  `json:"org"`
	Type          string           `json:"type"`
	Actor         domain.Actor     `json:"actor"`
	Source        domain.Source    `json:"source"`
	CorrelationID string           `json:"correlation_id"`
	KeyID         domain.KeyID     `json:"key_id,omitempty"`
	Project       domain.ProjectID `json:"project,omitempty"`
	// LastUsed is the key's last recorded use when the entry is read (the
	// audit API fills it in for a key's entries; absent for a key never
	// used).
	LastUsed *time.Time  `json:"last_used,omitempty"`
	Change   AuditChange `json:"change"`
	// Unreadable marks an event this keyplane cannot read: it does not
	// decode, or its payload is of a type or version it does not know.
	// The entry shows what its envelope, or only its subject, says; the
	// replicas refuse what it concerns (projections.Quarantine).
	Unreadable bool `json:"unreadable,omitempty"`
}

// AuditChange says what an event changed. It is built field by field from
// the payloads keyplane knows, so a secret's hash, a password hash or a
// field added to a payload later never reaches an auditor by accident;
// events of other types show their envelope only.
type AuditChange struct {
	Name    string         `json:"name,omitempty"`
	Scope   domain.Scope   `json:"scope,omitempty"`
	KeyType domain.KeyType `json:"key_type,omitempty"`
	Owner   string         `json:"owner,omitempty"`
	// Expiration is an RFC 3339 time or "never".
	Expiration      string                  `json:"expiration,omitempty"`
	Fields          []string                `json:"fields,omitempty"`
	RoleDescriptors *domain.RoleDescriptors `json:"role_descriptors,omitempty"`
	Metadata        *map[string]any         `json:"metadata,omitempty"`
	Reason          string                  `json:"reason,omitempty"`
	// RotatedTo is a rotated key's successor (KeyRotated); RotatedFrom the
	// key a successor replaces (its KeyCreated).
	RotatedTo   domain.KeyID `json:"rotated_to,omitempty"`
	RotatedFrom domain.KeyID `json:"rotated_from,omitempty"`
	User        string       `json:"user,omitempty"`
	Role        domain.Role  `json:"role,omitempty"`
	Emails      []string     `json:"emails,omitempty"`
	// Invitation and Email are an invitation's id and the address it went to.
	Invitation string `json:"invitation,omitempty"`
	Email      string `json:"email,omitempty"`
	// Policy is the organization's new key policy, whole (an absent
	// field is unset).
	Policy *domain.KeyPolicy `json:"policy,omitempty"`
}

// AuditEntryOf renders an event of the audit trail. projectOf finds the
// project of a key whose event does not name it (updates, revocations).
// An event it cannot read is an entry marked Unreadable, not an error: one
// such event must not take the organization's whole trail down with it.
func AuditEntryOf(ev domain.Event, projectOf func(domain.KeyID) domain.ProjectID) (AuditEntry, error) {
	e := AuditEntry{Seq: ev.Seq, ID: ev.ID, Time: ev.Time.UTC(), Org: ev.Tenant, Type: ev.Type, Actor: ev.Actor,
		Source: ev.Source, CorrelationID: ev.CorrelationID}
	if ev.AggType == domain.AggKey {
		e.KeyID = domain.KeyID(ev.AggID)
		if projectOf != nil {
			e.Project = projectOf(e.KeyID)
		}
	}
	p, err := ev.Decode()
	switch {
	case err != nil:
		e.Unreadable = true
	case knownAuditPayloads[ev.Type]:
		e.Change = changeOf(p, &e)
	}
	return e, nil
}

var knownAuditPayloads = map[string]bool{}

func init() {
	for _, p := range []domain.Payload{domain.KeyCreated{}, domain.KeyUpdated{}, domain.KeyInvalidated{}, domain.KeyExpired{},
		domain.OrgCreated{}, domain.ProjectCreated{}, domain.MemberAdded{}, domain.ContactsSet{},
		domain.MemberRemoved{}, domain.InvitationCreated{}, domain.InvitationRevoked{}, domain.InvitationAccepted{},
		domain.KeyPolicySet{}} {
		knownAuditPayloads[p.EventType()] = true
	}
}

func changeOf(p domain.Payload, e *AuditEntry) AuditChange {
	switch x := p.(type) {
	case domain.KeyCreated:
		e.Project = x.Project
		rds, md := x.RoleDescriptors, x.Metadata
		return AuditChange{Name: x.Name, Scope: x.Scope, KeyType: x.Type, Owner: x.Owner.User,
			Expiration: expiration(x.Expires, x.Expires == nil), RoleDescriptors: &rds, Metadata: &md, RotatedFrom: x.RotatedFrom}
	case domain.KeyRotated:
		return AuditChange{RotatedTo: x.RotatedTo, Expiration: expiration(&x.Expires, false)}
	case domain.KeyUpdated:
		c := AuditChange{RoleDescriptors: x.RoleDescriptors, Metadata: x.Metadata, Expiration: expiration(x.Expires, x.NeverExpires)}
		if x.RoleDescriptors != nil {
			c.Fields = append(c.Fields, "role_descriptors")
		}
		if x.Metadata != nil {
			c.Fields = append(c.Fields, "metadata")
		}
		if c.Expiration != "" {
			c.Fields = append(c.Fields, "expiration")
		}
		if x.LimitedBy != nil {
			c.Fields = append(c.Fields, "limited_by")
		}
		return c
	case domain.KeyInvalidated:
		return AuditChange{Reason: x.Reason}
	case domain.KeyExpired:
		return AuditChange{Expiration: expiration(&x.Expires, false)}
	case domain.OrgCreated:
		return AuditChange{Name: x.Name, Owner: x.Owner}
	case domain.ProjectCreated:
		e.Project = x.ProjectID
		return AuditChange{Name: x.Name}
	case domain.MemberAdded:
		return AuditChange{User: x.User, Role: x.Role}
	case domain.ContactsSet:
		return AuditChange{Emails: append([]string{}, x.Emails...)}
	case domain.KeyPolicySet:
		pol := x.Policy()
		return AuditChange{Policy: &pol}
	case domain.MemberRemoved:
		// Who removed: the entry's actor; whom: user.
		return AuditChange{User: x.User, Role: x.Role}
	case domain.InvitationCreated:
		// Never the token's hash.
		return AuditChange{Invitation: x.ID, Email: x.Email, Role: x.Role, Expiration: expiration(&x.Expires, false)}
	case domain.InvitationRevoked:
		return AuditChange{Invitation: x.ID}
	case domain.InvitationAccepted:
		return AuditChange{Invitation: x.ID, User: x.User, Role: x.Role, Email: x.Email}
	}
	return AuditChange{}
}

func init() { knownAuditPayloads[domain.KeyRotated{}.EventType()] = true }

// expiration is how an audit entry shows a (new) expiration: RFC 3339,
// "never", or "" when the event does not set one.
func expiration(at *time.Time, never bool) string {
	switch {
	case at != nil:
		return at.UTC().Format(time.RFC3339Nano)
	case never:
		return "never"
	}
	return ""
}

// EventReader reads one event back from the log by its sequence.
type EventReader interface {
	Event(ctx context.Context, seq uint64) (domain.Event, error)
}

// Page finds the entries q selects and reads them back from the log. more
// says whether another page follows; its cursor is the last entry's Seq.
func (a *Audit) Page(ctx context.Context, log EventReader, q AuditQuery) (entries []AuditEntry, more bool, err error) {
	seqs, more := a.Find(q)
	entries = make([]AuditEntry, 0, len(seqs))
	for _, seq := range seqs {
		ev, err := log.Event(ctx, seq)
		if err != nil {
			return nil, false, err
		}
		if ev.Tenant != q.Tenant { // the index and the log disagree: never show it
			return nil, false, domain.E(domain.KindInternal, "audit index points at sequence %d of another tenant", seq)
		}
		e, err := AuditEntryOf(ev, a.ProjectOfKey)
		if err != nil {
			return nil, false, err
		}
		entries = append(entries, e)
	}
	return entries, more, nil
}
