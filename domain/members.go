package domain

import "time"

// Member lifecycle: invitations, removal, role changes, passwords.
//
// Logins are global, so adding a member never names a login: a manager
// invites an email address, and whoever holds the invitation's secret
// accepts it with a login of their own (an existing one, authenticated, or a
// new one with their own password). Nothing a manager does depends on, or
// tells, which login names exist.

// InvitationLifetime is how long an invitation can be accepted.
const InvitationLifetime = 7 * 24 * time.Hour

// MaxPendingInvitations bounds one organization's open invitations.
const MaxPendingInvitations = 500

// Invitation is an organization's pending invitation.
type Invitation struct {
	ID        string
	Email     string
	Role      Role
	TokenHash string
	Created   time.Time
	Expires   time.Time
	// By is the member who invited (for a key, its owner): removing or
	// demoting them withdraws the invitations they left pending, so a
	// departing admin cannot come back through one.
	By string
}

// MemberRemoved v1: a member left the organization (removed by the actor).
type MemberRemoved struct {
	User string `json:"user"`
	Role Role   `json:"role"` // the role the member had
}

func (MemberRemoved) EventType() string { return "MemberRemoved" }
func (MemberRemoved) EventVersion() int { return 1 }

// InvitationCreated v1: an email address was invited with a role. The
// token's hex SHA-256, never the token: it is a bearer secret.
type InvitationCreated struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	TokenHash string    `json:"token_hash"`
	Expires   time.Time `json:"expires"`
}

func (InvitationCreated) EventType() string { return "InvitationCreated" }
func (InvitationCreated) EventVersion() int { return 1 }

// InvitationRevoked v1: a pending invitation was withdrawn.
type InvitationRevoked struct {
	ID string `json:"id"`
}

func (InvitationRevoked) EventType() string { return "InvitationRevoked" }
func (InvitationRevoked) EventVersion() int { return 1 }

// InvitationAccepted v1: a login accepted an invitation and became a
// member with its role; Email is the address the invitation was sent to,
// which is what the organization knows of the member.
type InvitationAccepted struct {
	ID    string `json:"id"`
	User  string `json:"user"`
	Role  Role   `json:"role"`
	Email string `json:"email"`
}

func (InvitationAccepted) EventType() string { return "InvitationAccepted" }
func (InvitationAccepted) EventVersion() int { return 1 }

// PasswordChanged v1 (user aggregate): the login set a new password; a
// forced reset is over. PasswordHash is an argon2id PHC string.
type PasswordChanged struct {
	PasswordHash string `json:"password_hash"`
}

func (PasswordChanged) EventType() string { return "PasswordChanged" }
func (PasswordChanged) EventVersion() int { return 1 }

// PasswordResetForced v1 (user aggregate): an owner of Org required the
// login to change its password before doing anything else.
type PasswordResetForced struct {
	Org TenantID `json:"org"`
}

func (PasswordResetForced) EventType() string { return "PasswordResetForced" }
func (PasswordResetForced) EventVersion() int { return 1 }

// SessionsRevoked v1 (user aggregate): every console session of User
// issued before Before is void, on every replica.
type SessionsRevoked struct {
	User   string    `json:"user"`
	Before time.Time `json:"before"`
}

func (SessionsRevoked) EventType() string { return "SessionsRevoked" }
func (SessionsRevoked) EventVersion() int { return 1 }

func init() {
	register(MemberRemoved{})
	register(InvitationCreated{})
	register(InvitationRevoked{})
	register(InvitationAccepted{})
	register(PasswordChanged{})
	register(PasswordResetForced{})
	register(SessionsRevoked{})
}

// callerOwns reports whether p may act as an owner of o: only owners add,
// promote, demote or remove owners. It is the owner-only action of the one
// authority (Principal.Authorize): a member by its role, a key only within
// its owner's live role and its own descriptors, a project user never.
func callerOwns(p Principal, o *Org) bool {
	return p.Authorize(ActionOwnersManage, Target{Tenant: o.ID}) == nil
}

// Pending is the invitation id if it can still be accepted at now.
func (o *Org) Pending(id string, now time.Time) (*Invitation, bool) {
	inv, ok := o.Invitations[id]
	if !ok || !now.Before(inv.Expires) {
		return nil, false
	}
	return inv, true
}

// DecideInvite validates an invitation of email with role.
func DecideInvite(p Principal, o *Org, now time.Time, id, email string, role Role, tokenHash string) (InvitationCreated, error) {
	if err := p.Authorize(ActionMembersManage, Target{Tenant: o.ID}); err != nil {
		return InvitationCreated{}, err
	}
	addr, err := ParseEmail(email)
	if err != nil {
		return InvitationCreated{}, err
	}
	if !ValidRole(role) {
		return InvitationCreated{}, Invalid("role must be owner, admin or viewer, not [%s]", role)
	}
	if role == RoleOwner && !callerOwns(p, o) {
		return InvitationCreated{}, Forbidden("only owners can invite owners")
	}
	n := 0
	for _, inv := range o.Invitations {
		if now.Before(inv.Expires) {
			n++
		}
	}
	if n >= MaxPendingInvitations {
		return InvitationCreated{}, Conflict("at most %d pending invitations: revoke some first", MaxPendingInvitations)
	}
	if !ValidSessionHash(tokenHash) {
		return InvitationCreated{}, E(KindInternal, "invitation token hash must be 64 hex digits")
	}
	return InvitationCreated{ID: id, Email: addr, Role: role, TokenHash: tokenHash, Expires: now.Add(InvitationLifetime).UTC()}, nil
}

// DecideRevokeInvitation withdraws a pending invitation.
func DecideRevokeInvitation(p Principal, o *Org, now time.Time, id string) (InvitationRevoked, error) {
	if err := p.Authorize(ActionMembersManage, Target{Tenant: o.ID}); err != nil {
		return InvitationRevoked{}, err
	}
	inv, ok := o.Pending(id, now)
	if !ok {
		return InvitationRevoked{}, NotFound("invitation [%s] not found", id)
	}
	if inv.Role == RoleOwner && !callerOwns(p, o) {
		return InvitationRevoked{}, Forbidden("only owners can revoke an invitation of an owner")
	}
	return InvitationRevoked{ID: id}, nil
}

// ErrNoInvitation is the one answer for a token that is unknown, used or
// expired: it tells nothing of any organization.
func ErrNoInvitation() error { return NotFound("invitation not found or expired") }

// DecideAcceptInvitation makes user a member with the invitation's role.
func DecideAcceptInvitation(o *Org, now time.Time, id, user string) (InvitationAccepted, error) {
	inv, ok := o.Pending(id, now)
	if !ok {
		return InvitationAccepted{}, ErrNoInvitation()
	}
	if _, member := o.Members[user]; member {
		return InvitationAccepted{}, Conflict("[%s] is already a member of this organization", user)
	}
	return InvitationAccepted{ID: id, User: user, Role: inv.Role, Email: inv.Email}, nil
}

// memberTarget checks that p may manage members of o and that user is one,
// and whether owner rules apply. Outside p's reach it answers not-found.
func memberTarget(p Principal, o *Org, user string) (Role, error) {
	if err := p.Authorize(ActionMembersManage, Target{Tenant: o.ID}); err != nil {
		return "", err
	}
	role, ok := o.Members[user]
	if !ok {
		return "", NotFound("member [%s] not found", user)
	}
	return role, nil
}

// DecideRemoveMember removes user from o: owners only by owners, and never
// the last owner.
func DecideRemoveMember(p Principal, o *Org, user string) (MemberRemoved, error) {
	role, err := memberTarget(p, o, user)
	if err != nil {
		return MemberRemoved{}, err
	}
	if role == RoleOwner {
		if !callerOwns(p, o) {
			return MemberRemoved{}, Forbidden("only owners can remove owners")
		}
		if o.owners() == 1 {
			return MemberRemoved{}, Conflict("an organization keeps at least one owner: [%s] is the last one", user)
		}
	}
	return MemberRemoved{User: user, Role: role}, nil
}

// rank orders roles by what they may do.
func rank(r Role) int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// DecideChangeRole sets a member's role. demoted says whether the member
// may now do less, which ends its sessions. An unchanged role is no event.
func DecideChangeRole(p Principal, o *Org, user string, role Role) (ev *MemberAdded, demoted bool, err error) {
	cur, err := memberTarget(p, o, user)
	if err != nil {
		return nil, false, err
	}
	if !ValidRole(role) {
		return nil, false, Invalid("role must be owner, admin or viewer, not [%s]", role)
	}
	if (cur == RoleOwner || role == RoleOwner) && !callerOwns(p, o) {
		return nil, false, Forbidden("only owners can promote to or demote from owner")
	}
	if cur == role {
		return nil, false, nil
	}
	if cur == RoleOwner && o.owners() == 1 {
		return nil, false, Conflict("an organization keeps at least one owner: [%s] is the last one", user)
	}
	return &MemberAdded{User: user, Role: role}, rank(role) < rank(cur), nil
}

// DecideForcePasswordReset: an owner of o requires member user to change
// its password. The owner never sets or learns it.
func DecideForcePasswordReset(p Principal, o *Org, user string) (PasswordResetForced, error) {
	if _, err := memberTarget(p, o, user); err != nil {
		return PasswordResetForced{}, err
	}
	if !callerOwns(p, o) {
		return PasswordResetForced{}, Forbidden("only owners can force a password reset")
	}
	return PasswordResetForced{Org: o.ID}, nil
}
