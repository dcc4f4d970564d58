package es

import (
	"net/http"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
)

// esInvalidateToken ends an access token before its expiry, on every
// replica. Tokens are not stored, so they are invalidated one by one, by
// value; a member may end their own, and manage_token ends anybody's in
// the project. A token of another project is not found (404), as for keys.
func (s *Server) esInvalidateToken(x *esReq) error {
	var req struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
		RealmName    string `json:"realm_name"`
		Username     string `json:"username"`
	}
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &req, false); err != nil {
		return err
	}
	switch {
	case req.RefreshToken != "":
		return domain.Invalid("keyplane issues no refresh tokens: invalidate the access token with [token]")
	case req.RealmName != "" || req.Username != "":
		return domain.Invalid("access tokens are signed, not stored: invalidate them one by one with [token], or delete or disable the user")
	case req.Token == "":
		return domain.Invalid("Validation Failed: 1: one of [token], [refresh_token], [realm_name] or [username] must be specified;")
	}
	t, ours := s.authn.ParseToken(req.Token)
	if !ours || t.Tenant != x.org.ID || t.Project != x.pr.ID {
		return domain.NotFound("token not found")
	}
	if err := s.authn.TokenLive(req.Token, t); err != nil {
		// Expired or invalidated already: nothing left to end.
		return x.write(http.StatusOK, tokenInvalidation(0, 1))
	}
	if t.User != x.p.User || t.Realm != x.p.RealmName() {
		if err := x.authorize(domain.ActionInvalidateToken, false); err != nil {
			return err
		}
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	ended, err := s.tenants.EndSession(ctx, x.meta(), domain.SessionToken, authn.BearerHash(req.Token), t.User, time.Unix(t.Expires, 0))
	if err != nil {
		return err
	}
	if !ended {
		return x.write(http.StatusOK, tokenInvalidation(0, 1))
	}
	return x.write(http.StatusOK, tokenInvalidation(1, 0))
}

func tokenInvalidation(invalidated, previously int) map[string]any {
	return map[string]any{"invalidated_tokens": invalidated, "previously_invalidated_tokens": previously,
		"error_count": 0, "error_details": []any{}}
}
