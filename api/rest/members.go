package rest

// The member lifecycle on the console API: invitations, acceptance,
// removal, role changes, password changes and forced resets
// (domain/members.go says why members join by invitation).

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

type invitationView struct {
	ID      string      `json:"id"`
	Email   string      `json:"email"`
	Role    domain.Role `json:"role"`
	Created time.Time   `json:"created"`
	Expires time.Time   `json:"expires"`
	// Token is shown once, in the answer to the invitation.
	Token string `json:"token,omitempty"`
}

func viewOfInvitation(inv domain.Invitation) invitationView {
	return invitationView{ID: inv.ID, Email: inv.Email, Role: inv.Role, Created: inv.Created.UTC(), Expires: inv.Expires.UTC()}
}

type inviteRequest struct {
	Email string      `json:"email"`
	Role  domain.Role `json:"role"`
}

func (s *orgsAPI) createInvitation(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req inviteRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	return s.invite(w, r, p, req)
}

func (s *orgsAPI) invite(w http.ResponseWriter, r *http.Request, p domain.Principal, req inviteRequest) error {
	var inv commands.NewInvitation
	err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) (err error) {
		inv, err = s.tenants.Invite(ctx, p, m, org, req.Email, req.Role)
		return err
	})
	if err != nil {
		return err
	}
	v := viewOfInvitation(inv.Invitation)
	v.Token = inv.Token
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// addMember is the old way to add a member, which bound an existing login
// of that name: it now only invites, and a body naming a login or a
// password is refused the same way whatever names exist.
func (s *orgsAPI) addMember(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req struct {
		inviteRequest
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Name != "" || req.Password != "" || req.FullName != "" {
		return domain.Invalid("members join by invitation: send {\"email\",\"role\"} to POST /api/v1/orgs/{org}/invitations " +
			"and give the invitee the token; they accept it with their own login and password")
	}
	return s.invite(w, r, p, req.inviteRequest)
}

func (s *orgsAPI) listInvitations(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID}); err != nil {
		return err
	}
	out := []invitationView{}
	now := s.now()
	for id := range o.Invitations {
		if inv, ok := o.Pending(id, now); ok {
			out = append(out, viewOfInvitation(*inv))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created.Before(out[j].Created) || out[i].Created.Equal(out[j].Created) && out[i].ID < out[j].ID
	})
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"invitations": out})
	return nil
}

func (s *orgsAPI) revokeInvitation(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	id := r.PathValue("id")
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		return s.tenants.RevokeInvitation(ctx, p, m, org, id)
	}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
	return nil
}

// hasCredentials reports whether the request brings any: a header or a
// session cookie.
func hasCredentials(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	_, err := r.Cookie(httpx.SessionCookie)
	return err == nil
}

// acceptInvitation joins the invitation's organization: as the login that
// authenticates the request, or, without credentials, as a new login with
// the invitee's own name and password.
func (s *orgsAPI) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	if err := s.accept(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *orgsAPI) accept(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token    string `json:"token"`
		Name     string `json:"name"`
		Password string `json:"password"`
		Email    string `json:"email"`
		FullName string `json:"full_name"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > 256 {
		return domain.Invalid("field [token] is required: the invitation's token")
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	var user string
	var o *domain.Org
	if hasCredentials(r) {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if p.Kind != domain.ActorUser || p.Realm != "" {
			return domain.Forbidden("an invitation is accepted by a login (password or console session), not by an API key or a project user")
		}
		if req.Name != "" || req.Password != "" || req.Email != "" || req.FullName != "" {
			return domain.Invalid("authenticated as [%s]: send only the token, or no credentials and a new login's name and password", p.User)
		}
		user = p.User
		if o, err = s.tenants.AcceptInvitation(ctx, httpx.Meta(w, r, p), req.Token, user); err != nil {
			return err
		}
	} else {
		if req.Name == "" || req.Password == "" {
			return domain.Invalid("without credentials, fields [name] and [password] are required: the new login's own")
		}
		user = req.Name
		p := domain.Principal{Kind: domain.ActorUser, User: user}
		u := commands.NewUser{Name: req.Name, Email: req.Email, FullName: req.FullName, Password: req.Password}
		var err error
		if o, err = s.tenants.AcceptAsNewUser(ctx, httpx.Meta(w, r, p), req.Token, u); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": user, "org": orgView{ID: o.ID, Name: o.Name, Created: o.Created, Role: o.Members[user]}})
	return nil
}

func (s *orgsAPI) removeMember(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	name := r.PathValue("name")
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		return s.tenants.RemoveMember(ctx, p, m, org, name)
	}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "removed": true})
	return nil
}

func (s *orgsAPI) changeMemberRole(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req struct {
		Role domain.Role `json:"role"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		return s.tenants.ChangeRole(ctx, p, m, org, name, req.Role)
	}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "role": req.Role})
	return nil
}

func (s *orgsAPI) forcePasswordReset(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	name := r.PathValue("name")
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		return s.tenants.ForcePasswordReset(ctx, p, m, org, name)
	}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "must_change_password": true})
	return nil
}

// changePassword sets the caller's own password. Only the login itself, by
// its password or console session, ever: never an API key. It is the one
// route a login under a forced reset may use.
func (s *orgsAPI) changePassword(w http.ResponseWriter, r *http.Request) {
	if err := s.changeOwnPassword(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *orgsAPI) changeOwnPassword(w http.ResponseWriter, r *http.Request) error {
	user, session, err := s.passwordChanger(r)
	if err != nil {
		return err
	}
	var req struct {
		Current  string `json:"current_password"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Current == "" || req.Password == "" {
		return domain.Invalid("fields [current_password] and [password] are required")
	}
	if _, err := s.authn.PasswordChange(r.Context(), httpx.SourceAddr(r), user, req.Current); err != nil {
		if domain.KindOf(err) == domain.KindUnauthenticated {
			return domain.Forbidden("field [current_password] is not the current password")
		}
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	p := domain.Principal{Kind: domain.ActorUser, User: user}
	if err := s.tenants.ChangePassword(ctx, httpx.Meta(w, r, p), user, req.Password); err != nil {
		return err
	}
	out := map[string]any{"user": user, "changed": true}
	if session {
		// This session goes on under the new password; every other one
		// carried the old password's fingerprint and has ended.
		c, value := s.authn.IssueSession(user)
		http.SetCookie(w, httpx.NewSessionCookie(r, value, int(authn.SessionLifetime/time.Second)))
		out["session"] = httpx.ViewSession(s.authn, c)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// passwordChanger authenticates a password change: Basic or a console
// session (with its CSRF checks), also under a forced reset.
func (s *orgsAPI) passwordChanger(r *http.Request) (user string, session bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		c, ok, err := httpx.SessionClaims(s.authn, r)
		if !ok {
			return "", false, domain.Unauthenticated("missing authentication credentials for REST request [%s]", r.URL.Path)
		}
		return c.User, true, err
	}
	c := authn.Parse(h)
	if c.Scheme != authn.Basic {
		return "", false, domain.Forbidden("a password is changed by its login (password or console session), never by an API key or a token")
	}
	name, pw, err := c.BasicAuth()
	if err != nil {
		return "", false, err
	}
	p, err := s.authn.PasswordChange(r.Context(), httpx.SourceAddr(r), name, pw)
	return p.User, false, err
}
