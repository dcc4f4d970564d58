package cloud

import (
	"net/http"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// keyView is a key as Elastic Cloud shows it (cloud-sdk-go's
// APIKeyResponse). Key, the credential, only in the answer to its create.
type keyView struct {
	ID              domain.KeyID     `json:"id"`
	Description     string           `json:"description"`
	CreationDate    string           `json:"creation_date"`
	ExpirationDate  string           `json:"expiration_date,omitempty"`
	Key             string           `json:"key,omitempty"`
	UserID          string           `json:"user_id"`
	OrganizationID  domain.TenantID  `json:"organization_id"`
	RoleAssignments *roleAssignments `json:"role_assignments,omitempty"`
}

// dateTime is Elastic Cloud's RFC 3339 time, in milliseconds and UTC.
func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func (s *Server) view(k *domain.Key) keyView {
	live, _ := s.dir.RoleOf(k.Tenant, k.Owner.User)
	v := keyView{ID: k.ID, Description: k.Name, CreationDate: dateTime(k.Created), UserID: k.Owner.User,
		OrganizationID: k.Tenant, RoleAssignments: assignmentsOf(k, rolesOf(k, live))}
	if !k.Expires.IsZero() {
		v.ExpirationDate = dateTime(k.Expires)
	}
	return v
}

type createRequest struct {
	Description     string           `json:"description"`
	Expiration      string           `json:"expiration"`
	RoleAssignments *roleAssignments `json:"role_assignments"`
}

// command is the request as keyplane's create: the key of the caller's
// member, in the caller's organization or the one project its
// assignments name, with the assigned roles (none: the creator's).
func (s *Server) command(c caller, req createRequest) (domain.CreateKey, error) {
	cmd := domain.CreateKey{Tenant: c.org.ID, Scope: domain.ScopeOrg, Name: req.Description,
		Expiration: req.Expiration, ForMember: true}
	if req.RoleAssignments == nil {
		return cmd, nil
	}
	gs, err := req.RoleAssignments.grants(c.org)
	if err != nil || len(gs) == 0 {
		return cmd, err
	}
	for _, g := range gs {
		if !holds(c.p, c.org.ID, g.role) {
			return cmd, domain.Forbidden("role [%s] (keyplane's %s) is beyond the caller's own: a key never holds more than its creator", g.id, g.role)
		}
	}
	scope, project, rds, err := keyShape(gs)
	if err != nil {
		return cmd, err
	}
	cmd.Scope, cmd.Project = scope, project
	cmd.RoleDescriptors, err = descriptorsJSON(rds)
	return cmd, err
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, c caller) error {
	var req createRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Description == "" {
		return domain.Invalid("field [description] is required")
	}
	cmd, err := s.command(c, req)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	out, err := s.commands.CreateKey(ctx, c.p, httpx.Meta(w, r, c.p), cmd, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	k, ok := s.keys.Get(c.org.ID, out.ID)
	if !ok {
		return domain.E(domain.KindInternal, "created key [%s] is not in the key list", out.ID)
	}
	v := s.view(&k)
	v.Key = out.Encoded
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// mine reports whether k is one of the caller's Elastic Cloud keys: its
// member's own (not a derived key, nor a project user's) and not revoked.
// A revoked key is gone from this API; keyplane's own list keeps it.
func mine(c caller, k *domain.Key) bool {
	realm := k.Owner.Realm
	return k.Tenant == c.org.ID && k.Owner.User == c.p.User && (realm == "" || realm == domain.RealmMembers) &&
		k.Owner.ByKey == "" && !k.Invalidated
}

// authorize is whether p may take action on key k, as on every surface: a
// key limited to its own keys (manage_own_api_key) owns only itself.
func authorize(p domain.Principal, action string, k *domain.Key) error {
	return p.Authorize(action, k.TargetFor(p))
}

// maxListed bounds one listing.
const maxListed = 10000

func (s *Server) list(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := c.p.Authorize(domain.ActionGetKey, domain.Target{Tenant: c.org.ID, Own: true}); err != nil {
		return err
	}
	f := projections.Filter{Tenant: c.org.ID, Owner: c.p.User, Now: s.now(),
		Match: func(k *domain.Key) bool { return mine(c, k) && authorize(c.p, domain.ActionGetKey, k) == nil }}
	keys, _ := s.keys.List(f, projections.Page{Sort: "-created", Size: maxListed})
	out := make([]keyView, len(keys))
	for i := range keys {
		out[i] = s.view(&keys[i])
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

// find is key id if it is one of the caller's; anything else is not
// found, whoever's it is.
func (s *Server) find(c caller, id domain.KeyID) (domain.Key, error) {
	k, ok := s.keys.Get(c.org.ID, id)
	if !ok || !mine(c, &k) {
		return domain.Key{}, domain.NotFound("api key [%s] not found", id)
	}
	return k, nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, c caller) error {
	k, err := s.find(c, domain.KeyID(r.PathValue("id")))
	if err != nil {
		return err
	}
	if err := authorize(c.p, domain.ActionGetKey, &k); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(&k))
	return nil
}

func (s *Server) deleteOne(w http.ResponseWriter, r *http.Request, c caller) error {
	return s.revoke(w, r, c, []domain.KeyID{domain.KeyID(r.PathValue("id"))})
}

type deleteRequest struct {
	Keys []domain.KeyID `json:"keys"`
}

func (s *Server) deleteMany(w http.ResponseWriter, r *http.Request, c caller) error {
	var req deleteRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if len(req.Keys) == 0 {
		return domain.Invalid("field [keys] must list at least one key id")
	}
	if len(req.Keys) > httpx.MaxBulk {
		return domain.Invalid("at most %d keys per request", httpx.MaxBulk)
	}
	return s.revoke(w, r, c, req.Keys)
}

// revoke invalidates the keys, all of them the caller's and each one it
// may revoke: else the first that is not is answered, and none is revoked.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, c caller, ids []domain.KeyID) error {
	for _, id := range ids {
		k, err := s.find(c, id)
		if err != nil {
			return err
		}
		// The decision the revocation will take, whole (a cross-cluster
		// key also needs manage_security): none is revoked if one is refused.
		if _, _, err := domain.DecideInvalidateKey(c.p, &k); err != nil {
			return err
		}
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	for _, id := range ids {
		if _, err := s.commands.InvalidateKey(ctx, c.p, httpx.Meta(w, r, c.p), c.org.ID, id, ""); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, struct{}{})
	return nil
}
