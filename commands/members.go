package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// The member lifecycle (domain/members.go): invite, accept, remove, change
// role, force a reset of a password.

func userAt(user string) where {
	return where{tenant: domain.SystemTenant, typ: domain.AggUser, id: domain.UserAggID(user)}
}

// anySeq is p as an event of an aggregate whatever its sequence: it goes
// with a checked event of another aggregate.
func (s *Tenants) anySeq(at where, m domain.Meta, p domain.Payload) eventlog.Append {
	a := s.event(at, m, p)
	a.AnySeq = true
	return a
}

// userRevocation voids every session user holds now, on every replica.
func (s *Tenants) userRevocation(m domain.Meta, user string) eventlog.Append {
	return s.anySeq(userAt(user), m, domain.SessionsRevoked{User: user, Before: m.Time.UTC()})
}

// RemoveMember removes user from the organization and ends its sessions
// everywhere. Its keys lose their privileges through their owner's live
// role, which is none once it is not a member.
func (s *Tenants) RemoveMember(ctx context.Context, p domain.Principal, m domain.Meta, org, user string) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (decision, error) {
		ev, err := domain.DecideRemoveMember(p, o, user)
		if err != nil {
			return decision{}, err
		}
		return decision{event: ev, more: []eventlog.Append{s.userRevocation(m, user)}}, nil
	})
}

// ChangeRole sets a member's role; a demotion ends the member's sessions.
func (s *Tenants) ChangeRole(ctx context.Context, p domain.Principal, m domain.Meta, org, user string, role domain.Role) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (decision, error) {
		ev, demoted, err := domain.DecideChangeRole(p, o, user, role)
		if err != nil || ev == nil {
			return decision{}, err
		}
		if demoted {
			return decision{event: *ev, more: []eventlog.Append{s.userRevocation(m, user)}}, nil
		}
		return decision{event: *ev}, nil
	})
}

// ForcePasswordReset makes a member change its password before anything
// else, and ends its sessions everywhere. The owner never sets or learns
// the password: the login may belong to other organizations too.
func (s *Tenants) ForcePasswordReset(ctx context.Context, p domain.Principal, m domain.Meta, org, user string) error {
	o, ok := s.dir.Org(org)
	if !ok || !p.InTenant(o.ID) {
		return domain.NotFound("organization [%s] not found", org)
	}
	ev, err := domain.DecideForcePasswordReset(p, o, user)
	if err != nil {
		return err
	}
	m.Time = s.now()
	_, err = s.store.Commit(ctx, s.wait, s.anySeq(userAt(user), m, ev), s.userRevocation(m, user))
	return err
}

// NewInvitation is an invitation as created: the token is shown once.
type NewInvitation struct {
	Invitation domain.Invitation
	Token      string
}

// InvitationTokenHash is what the log knows of an invitation's token.
func InvitationTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Invite invites email to the organization with role.
func (s *Tenants) Invite(ctx context.Context, p domain.Principal, m domain.Meta, org, email string, role domain.Role) (NewInvitation, error) {
	token := s.ids.Token()
	hash := InvitationTokenHash(token)
	id := s.ids.EventID()
	err := s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (decision, error) {
		ev, err := domain.DecideInvite(p, o, m.Time, id, email, role, hash)
		return decision{event: ev}, err
	})
	if err != nil {
		return NewInvitation{}, err
	}
	o, _ := s.dir.Org(org)
	return NewInvitation{Invitation: *o.Invitations[id], Token: token}, nil
}

// RevokeInvitation withdraws a pending invitation.
func (s *Tenants) RevokeInvitation(ctx context.Context, p domain.Principal, m domain.Meta, org, id string) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (decision, error) {
		ev, err := domain.DecideRevokeInvitation(p, o, m.Time, id)
		return decision{event: ev}, err
	})
}

// invitation finds the pending invitation of token: unknown, used and
// expired tokens get one answer, naming nothing.
func (s *Tenants) invitation(token string) (*domain.Org, *domain.Invitation, error) {
	o, inv, ok := s.dir.Invitation(InvitationTokenHash(token))
	if !ok || !s.now().Before(inv.Expires) {
		return nil, nil, domain.ErrNoInvitation()
	}
	return o, inv, nil
}

// AcceptInvitation makes user (an authenticated login) a member with the
// invitation's role. It returns the organization joined.
func (s *Tenants) AcceptInvitation(ctx context.Context, m domain.Meta, token, user string) (*domain.Org, error) {
	o, inv, err := s.invitation(token)
	if err != nil {
		return nil, err
	}
	sys := domain.Principal{Kind: domain.ActorSystem}
	err = s.orgCommand(ctx, sys, string(o.ID), m, func(o *domain.Org, m domain.Meta) (decision, error) {
		ev, err := domain.DecideAcceptInvitation(o, m.Time, inv.ID, user)
		return decision{event: ev}, err
	})
	if err != nil {
		return nil, err
	}
	o, _ = s.dir.Org(string(o.ID))
	return o, nil
}

// AcceptAsNewUser creates the invitee's own login (its name must be free:
// the invitee picks it, as in any sign-up) and accepts the invitation with
// it. The token is checked first, so without one nothing is created and no
// name is tested.
func (s *Tenants) AcceptAsNewUser(ctx context.Context, m domain.Meta, token string, u NewUser) (*domain.Org, error) {
	if _, _, err := s.invitation(token); err != nil {
		return nil, err
	}
	if err := s.CreateUser(ctx, m, u); err != nil {
		return nil, err
	}
	return s.AcceptInvitation(ctx, m, token, u.Name)
}
