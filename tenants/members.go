package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// The member lifecycle (domain/members.go): invite, accept, remove, change
// role, change or force a reset of a password.

// userRevocation voids every session user holds now, on every replica.
func (s *Service) userRevocation(m domain.Meta, user string) eventlog.Append {
	return eventlog.Append{Event: event(domain.SystemTenant, domain.AggUser, domain.UserAggID(user), m,
		domain.SessionsRevoked{User: user, Before: m.Time.UTC()}), AnySeq: true}
}

// orgCommand runs decide on organization ref (which p must see) with
// optimistic concurrency; decide returns the organization's event and any
// events of other aggregates that go with it, atomically.
func (s *Service) orgCommand(ctx context.Context, p domain.Principal, ref string, m domain.Meta,
	decide func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error)) error {
	if o, ok := s.Dir.Org(ref); !ok || !p.InTenant(o.ID) {
		return domain.NotFound("organization [%s] not found", ref)
	}
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		o, ok := s.Dir.Org(ref)
		if !ok {
			return nil, domain.NotFound("organization [%s] not found", ref)
		}
		m.Time = s.now()
		pl, more, err := decide(o, m)
		if err != nil || pl == nil {
			return nil, err
		}
		apps := []eventlog.Append{{Event: event(o.ID, domain.AggOrg, string(o.ID), m, pl), Expect: o.Seq}}
		return append(apps, more...), nil
	})
	return err
}

// RemoveMember removes user from the organization and ends its sessions
// everywhere. Its keys lose their privileges through their owner's live
// role, which is none once it is not a member.
func (s *Service) RemoveMember(ctx context.Context, p domain.Principal, m domain.Meta, org, user string) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error) {
		ev, err := domain.DecideRemoveMember(p, o, user)
		if err != nil {
			return nil, nil, err
		}
		return ev, []eventlog.Append{s.userRevocation(m, user)}, nil
	})
}

// ChangeRole sets a member's role; a demotion ends the member's sessions.
func (s *Service) ChangeRole(ctx context.Context, p domain.Principal, m domain.Meta, org, user string, role domain.Role) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error) {
		ev, demoted, err := domain.DecideChangeRole(p, o, user, role)
		if err != nil || ev == nil {
			return nil, nil, err
		}
		if demoted {
			return *ev, []eventlog.Append{s.userRevocation(m, user)}, nil
		}
		return *ev, nil, nil
	})
}

// ForcePasswordReset makes a member change its password before anything
// else, and ends its sessions everywhere. The owner never sets or learns
// the password: the login may belong to other organizations too.
func (s *Service) ForcePasswordReset(ctx context.Context, p domain.Principal, m domain.Meta, org, user string) error {
	if o, ok := s.Dir.Org(org); !ok || !p.InTenant(o.ID) {
		return domain.NotFound("organization [%s] not found", org)
	}
	o, _ := s.Dir.Org(org)
	ev, err := domain.DecideForcePasswordReset(p, o, user)
	if err != nil {
		return err
	}
	m.Time = s.now()
	forced := eventlog.Append{Event: event(domain.SystemTenant, domain.AggUser, domain.UserAggID(user), m, ev), AnySeq: true}
	_, err = s.Log.Commit(ctx, s.Wait, forced, s.userRevocation(m, user))
	return err
}

// ChangePassword sets a login's own password. The caller has checked the
// current one. Every session issued with the old password ends everywhere
// (they carry its fingerprint), and a forced reset is over.
func (s *Service) ChangePassword(ctx context.Context, m domain.Meta, user, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	_, err := s.Log.Execute(ctx, s.Wait, func() ([]eventlog.Append, error) {
		u, ok := s.Dir.User(user)
		if !ok {
			return nil, domain.NotFound("user [%s] not found", user)
		}
		m.Time = s.now()
		return []eventlog.Append{{Event: event(domain.SystemTenant, domain.AggUser, domain.UserAggID(user), m,
			domain.PasswordChanged{PasswordHash: hash}), Expect: u.Seq}}, nil
	})
	return err
}

func validPassword(pw string) error {
	if len(pw) < 8 || len(pw) > 256 {
		return domain.Invalid("password must be 8 to 256 characters")
	}
	return nil
}

// NewInvitation is an invitation as created: the token is shown once.
type NewInvitation struct {
	Invitation domain.Invitation
	Token      string
}

// invitationToken draws a bearer secret: 256 random bits.
func invitationToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = "kpinv_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, InvitationTokenHash(token)
}

// InvitationTokenHash is what the log knows of an invitation's token.
func InvitationTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Invite invites email to the organization with role.
func (s *Service) Invite(ctx context.Context, p domain.Principal, m domain.Meta, org, email string, role domain.Role) (NewInvitation, error) {
	token, hash := invitationToken()
	id := uuid.NewString()
	err := s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error) {
		ev, err := domain.DecideInvite(p, o, m.Time, id, email, role, hash)
		return ev, nil, err
	})
	if err != nil {
		return NewInvitation{}, err
	}
	o, _ := s.Dir.Org(org)
	return NewInvitation{Invitation: *o.Invitations[id], Token: token}, nil
}

// RevokeInvitation withdraws a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, p domain.Principal, m domain.Meta, org, id string) error {
	return s.orgCommand(ctx, p, org, m, func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error) {
		ev, err := domain.DecideRevokeInvitation(p, o, m.Time, id)
		return ev, nil, err
	})
}

// invitation finds the pending invitation of token: unknown, used and
// expired tokens get one answer, naming nothing.
func (s *Service) invitation(token string) (*domain.Org, *domain.Invitation, error) {
	o, inv, ok := s.Dir.Invitation(InvitationTokenHash(token))
	if !ok || !s.now().Before(inv.Expires) {
		return nil, nil, domain.ErrNoInvitation()
	}
	return o, inv, nil
}

// AcceptInvitation makes user (an authenticated login) a member with the
// invitation's role. It returns the organization joined.
func (s *Service) AcceptInvitation(ctx context.Context, m domain.Meta, token, user string) (*domain.Org, error) {
	o, inv, err := s.invitation(token)
	if err != nil {
		return nil, err
	}
	sys := domain.Principal{Kind: domain.ActorSystem}
	err = s.orgCommand(ctx, sys, string(o.ID), m, func(o *domain.Org, m domain.Meta) (domain.Payload, []eventlog.Append, error) {
		ev, err := domain.DecideAcceptInvitation(o, m.Time, inv.ID, user)
		return ev, nil, err
	})
	if err != nil {
		return nil, err
	}
	o, _ = s.Dir.Org(string(o.ID))
	return o, nil
}

// AcceptAsNewUser creates the invitee's own login (its name must be free:
// the invitee picks it, as in any sign-up) and accepts the invitation with
// it. The token is checked first, so without one nothing is created and no
// name is tested.
func (s *Service) AcceptAsNewUser(ctx context.Context, m domain.Meta, token string, u NewUser) (*domain.Org, error) {
	if _, _, err := s.invitation(token); err != nil {
		return nil, err
	}
	if err := s.CreateUser(ctx, m, u); err != nil {
		return nil, err
	}
	return s.AcceptInvitation(ctx, m, token, u.Name)
}
