package es

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
)

// esKeyView is a key as Elasticsearch's get and query API key APIs show it.
// Never the secret or its hash.
type esKeyView struct {
	ID              domain.KeyID               `json:"id"`
	Name            string                     `json:"name"`
	Type            string                     `json:"type"`
	Creation        int64                      `json:"creation"`
	Expiration      *int64                     `json:"expiration,omitempty"`
	Invalidated     bool                       `json:"invalidated"`
	Invalidation    *int64                     `json:"invalidation,omitempty"`
	Username        string                     `json:"username"`
	Realm           string                     `json:"realm"`
	RealmType       string                     `json:"realm_type"`
	Metadata        map[string]any             `json:"metadata"`
	RoleDescriptors domain.RoleDescriptors     `json:"role_descriptors"`
	Access          *domain.CrossClusterAccess `json:"access,omitempty"`
	LimitedBy       []domain.RoleDescriptors   `json:"limited_by,omitempty"`
	Sort            []any                      `json:"_sort,omitempty"`
}

func (s *Server) esView(k *domain.Key, withLimitedBy bool) esKeyView {
	v := esKeyView{ID: k.ID, Name: k.Name, Type: k.Type.ESType(), Creation: k.Created.UnixMilli(), Invalidated: k.Invalidated,
		Username: k.Owner.User, Realm: k.Owner.Realm, RealmType: domain.RealmType(k.Owner.Realm)}
	v.Expiration, v.Invalidation, v.Metadata, v.RoleDescriptors = httpx.ShownKeyFields(k)
	if k.Type == domain.KeyCrossCluster {
		// Its access, from which its descriptor was derived; and no
		// limited_by, which a cross-cluster key never has.
		a := domain.CrossClusterAccessOf(k.RoleDescriptors)
		v.Access = &a
		return v
	}
	if withLimitedBy {
		v.LimitedBy = k.LimitedBy
		if len(v.LimitedBy) == 0 {
			// Keys made by the console are limited by their owner's live role.
			v.LimitedBy = []domain.RoleDescriptors{s.authn.OwnerPermission(k)}
		}
	}
	return v
}

// esOwns reports whether the caller owns k (domain.Principal.Owns).
func esOwns(p domain.Principal, k *domain.Key) bool { return k.OwnedBy(p) }

// inProject reports whether k is a key of the request's project.
func (x *esReq) inProject(k *domain.Key) bool {
	return k.Tenant == x.org.ID && k.Scope == domain.ScopeProject && k.Project == x.pr.ID
}

// projectKeys lists the project's keys that match, oldest first. match
// reads no metadata (projections.Keys.Select).
func (x *esReq) projectKeys(match func(*domain.Key) bool) []domain.Key {
	out := x.s.keys.Select(x.org.ID, func(k *domain.Key) bool { return x.inProject(k) && match(k) })
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Created.Compare(out[j].Created); c != 0 {
			return c < 0
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// esKeySpec is the key part of a create or grant request.
type esKeySpec struct {
	Name            string          `json:"name"`
	Expiration      string          `json:"expiration"`
	RoleDescriptors json.RawMessage `json:"role_descriptors"`
	Metadata        map[string]any  `json:"metadata"`
}

func (k esKeySpec) validate() error {
	if k.Name == "" {
		return domain.Invalid("Validation Failed: 1: api key name is required;")
	}
	if k.Name[0] == '_' {
		return domain.Invalid("Validation Failed: 1: api key name may not begin with an underscore;")
	}
	return nil
}

// command is the create command of a key owned by the request's project.
func (k esKeySpec) command(x *esReq, grantedBy *domain.Principal) domain.CreateKey {
	return domain.CreateKey{Tenant: x.org.ID, Scope: domain.ScopeProject, Project: x.pr.ID, Type: domain.KeyPersonal,
		Name: k.Name, Expiration: k.Expiration, RoleDescriptors: nullIsAbsent(k.RoleDescriptors), Metadata: k.Metadata,
		DefaultNever: true, SnapshotLimits: true, GrantedBy: grantedBy}
}

func nullIsAbsent(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// esCreated is the answer to a create or grant: the only place the secret
// appears.
func esCreated(out commands.Created) map[string]any {
	resp := map[string]any{"id": out.ID, "name": out.Name, "api_key": out.Secret, "encoded": out.Encoded}
	if !out.Expires.IsZero() {
		resp["expiration"] = out.Expires.UnixMilli()
	}
	return resp
}

func (s *Server) esCreateKey(x *esReq) error {
	var req esKeySpec
	if err := x.decodeCommand(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionCreateKey, true); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	out, err := s.commands.CreateKey(ctx, x.p, x.meta(), req.command(x, nil), x.r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	x.w.Header().Set("Cache-Control", "no-store")
	return x.write(http.StatusOK, esCreated(out))
}

// esGrant is the credential part of grant requests.
type esGrant struct {
	GrantType   string `json:"grant_type"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	AccessToken string `json:"access_token"`
	RunAs       string `json:"run_as"`
}

func (g esGrant) validate() error {
	switch g.GrantType {
	case "":
		return domain.Invalid("Validation Failed: 1: [grant_type] is required;")
	case "password":
		if g.Username == "" || g.Password == "" {
			return domain.Invalid("Validation Failed: 1: [username] and [password] are required for grant_type [password];")
		}
	case "access_token":
		if g.AccessToken == "" {
			return domain.Invalid("Validation Failed: 1: [access_token] is required for grant_type [access_token];")
		}
	default:
		return domain.Invalid("Validation Failed: 1: grant_type [%s] is not supported;", g.GrantType)
	}
	return nil
}

// grantee authenticates the user a grant is for (and whom it runs as).
func (s *Server) grantee(x *esReq, g esGrant) (domain.Principal, error) {
	var p domain.Principal
	var err error
	if g.GrantType == "password" {
		p, err = s.esPassword(x.r, x.org, x.pr, g.Username, g.Password)
	} else {
		p, err = s.authn.TokenPrincipal(x.org, x.pr, g.AccessToken)
	}
	if err != nil || g.RunAs == "" {
		return p, err
	}
	target, err := s.authn.RunAs(x.org, x.pr, p, g.RunAs)
	if err != nil {
		return p, domain.Forbidden("action [%s] is unauthorized for user [%s], because user [%s] is unauthorized to run as [%s]",
			domain.ActionGrantKey, x.p.User, p.User, g.RunAs)
	}
	return target, nil
}

func (s *Server) esGrantKey(x *esReq) error {
	var req struct {
		esGrant
		APIKey *esKeySpec `json:"api_key"`
	}
	if err := x.decodeCommand(&req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if req.APIKey == nil {
		return domain.Invalid("Validation Failed: 1: [api_key] is required;")
	}
	if err := req.APIKey.validate(); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionGrantKey, false); err != nil {
		return err
	}
	owner, err := s.grantee(x, req.esGrant)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	out, err := s.commands.CreateKey(ctx, owner, x.meta(), req.APIKey.command(x, &x.p), x.r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	x.w.Header().Set("Cache-Control", "no-store")
	return x.write(http.StatusOK, esCreated(out))
}

// esBulkGrantKeys grants several keys to one user in one request; every
// key is decided before any is created, and all are created as one atomic
// batch (commands.Keys.CreateKeys).
func (s *Server) esBulkGrantKeys(x *esReq) error {
	var req struct {
		esGrant
		APIKeys []esKeySpec `json:"api_keys"`
	}
	if err := x.decodeCommand(&req); err != nil {
		return err
	}
	if len(req.APIKeys) == 0 {
		return domain.Invalid("Validation Failed: 1: [api_keys] must not be empty;")
	}
	if len(req.APIKeys) > httpx.MaxBulk {
		return domain.Invalid("Validation Failed: 1: at most [%d] api keys per request;", httpx.MaxBulk)
	}
	if err := req.validate(); err != nil {
		return err
	}
	for _, k := range req.APIKeys {
		if err := k.validate(); err != nil {
			return err
		}
	}
	if err := x.authorize(domain.ActionBulkGrantKeys, false); err != nil {
		return err
	}
	owner, err := s.grantee(x, req.esGrant)
	if err != nil {
		return err
	}
	cmds := make([]domain.CreateKey, len(req.APIKeys))
	for i, k := range req.APIKeys {
		cmds[i] = k.command(x, &x.p)
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	// Every key is decided before any is written, and all are written
	// as one atomic batch.
	outs, err := s.commands.CreateKeys(ctx, owner, x.meta(), cmds)
	if err != nil {
		return err
	}
	created := make([]map[string]any, len(outs))
	for i, out := range outs {
		created[i] = esCreated(out)
	}
	x.w.Header().Set("Cache-Control", "no-store")
	return x.write(http.StatusOK, map[string]any{"created": created})
}
