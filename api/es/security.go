package es

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

type esRealmRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type esAuthKey struct {
	ID        domain.KeyID `json:"id"`
	Name      string       `json:"name"`
	ManagedBy string       `json:"managed_by"`
	Internal  bool         `json:"internal"`
}

// esAuthView is the answer of _authenticate: who the credential is.
type esAuthView struct {
	Username            string         `json:"username"`
	Roles               []string       `json:"roles"`
	FullName            *string        `json:"full_name"`
	Email               *string        `json:"email"`
	Metadata            map[string]any `json:"metadata"`
	Enabled             bool           `json:"enabled"`
	AuthenticationRealm esRealmRef     `json:"authentication_realm"`
	LookupRealm         esRealmRef     `json:"lookup_realm"`
	AuthenticationType  string         `json:"authentication_type"`
	APIKey              *esAuthKey     `json:"api_key,omitempty"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// noRoles and noMetadata are shared empty values of answers (never
// modified), so that authenticating a key allocates less.
var (
	noRoles    = []string{}
	noMetadata = map[string]any{}
)

func (s *Server) esWhoAmI(x *esReq) esAuthView {
	v := esAuthView{Username: x.p.User, Roles: noRoles, Metadata: noMetadata, Enabled: true, AuthenticationType: "realm"}
	realm := esRealmRef{Name: x.p.RealmName(), Type: domain.RealmType(x.p.RealmName())}
	switch {
	case x.p.Kind == domain.ActorKey:
		realm = esRealmRef{Name: domain.RealmAPIKey, Type: domain.RealmAPIKey}
		v.AuthenticationType = "api_key"
		v.APIKey = &esAuthKey{ID: x.p.KeyID, Name: x.p.KeyName, ManagedBy: "elasticsearch"}
	case x.p.Realm == domain.RealmProject:
		if u, ok := s.realms.User(x.org.ID, x.pr.ID, x.p.User); ok {
			v.Roles, v.FullName, v.Email, v.Metadata = u.Roles, strPtr(u.FullName), strPtr(u.Email), u.Metadata
		}
	default:
		v.Roles = x.roles
		if u, ok := s.dir.User(x.p.User); ok {
			v.FullName, v.Email = strPtr(u.FullName), strPtr(u.Email)
		}
	}
	if authn.Parse(x.r.Header.Get("Authorization")).Scheme == authn.Bearer {
		v.AuthenticationType = "token"
	}
	v.AuthenticationRealm, v.LookupRealm = realm, realm
	if v.Roles == nil {
		v.Roles = noRoles
	}
	return v
}

func (s *Server) esAuthenticateMe(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	return x.write(http.StatusOK, s.esWhoAmI(x))
}

type esHasPrivilegesRequest struct {
	Cluster []string `json:"cluster"`
	Index   []struct {
		Names                  domain.StringList `json:"names"`
		Privileges             []string          `json:"privileges"`
		AllowRestrictedIndices bool              `json:"allow_restricted_indices"`
	} `json:"index"`
	Application []struct {
		Application string   `json:"application"`
		Privileges  []string `json:"privileges"`
		Resources   []string `json:"resources"`
	} `json:"application"`
}

func (s *Server) esHasPrivileges(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	if u := x.r.PathValue("user"); u != "" && u != x.p.User {
		return domain.Forbidden("users may only check the privileges of their own account, not of [%s]", u)
	}
	var req esHasPrivilegesRequest
	if err := httpx.DecodeBody(x.r, &req, false); err != nil {
		return err
	}
	if err := req.within(); err != nil {
		return err
	}
	perm := x.p.PermissionIn(x.org.ID)
	// Each answer checks every pattern of the caller's descriptors: many
	// of them for a large request, so a client that has gone stops it.
	ctx := x.r.Context()
	all := true
	cluster := map[string]bool{}
	for _, c := range req.Cluster {
		if !domain.ClusterPrivilegeKnown(c) {
			return domain.Invalid("unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster privilege names or a pattern over one of the available cluster actions", c)
		}
		cluster[c] = perm.HasCluster(c)
		all = all && cluster[c]
	}
	index := map[string]map[string]bool{}
	for _, ip := range req.Index {
		for _, n := range ip.Names {
			if index[n] == nil {
				index[n] = map[string]bool{}
			}
			for _, priv := range ip.Privileges {
				if ctx.Err() != nil {
					return clientGone(ctx)
				}
				if !domain.IndexPrivilegeKnown(priv) {
					return domain.Invalid("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges or a pattern over one of the available index actions", priv)
				}
				index[n][priv] = perm.HasIndex(n, priv, ip.AllowRestrictedIndices)
				all = all && index[n][priv]
			}
		}
	}
	resolve := s.realms.Resolver(x.org.ID, x.pr.ID)
	apps := map[string]map[string]map[string]bool{}
	for _, ap := range req.Application {
		if apps[ap.Application] == nil {
			apps[ap.Application] = map[string]map[string]bool{}
		}
		for _, res := range ap.Resources {
			if apps[ap.Application][res] == nil {
				apps[ap.Application][res] = map[string]bool{}
			}
			for _, priv := range ap.Privileges {
				if ctx.Err() != nil {
					return clientGone(ctx)
				}
				ok := perm.HasApplication(ap.Application, priv, res, resolve)
				apps[ap.Application][res][priv] = ok
				all = all && ok
			}
		}
	}
	return x.write(http.StatusOK, map[string]any{"username": x.p.User, "has_all_requested": all,
		"cluster": cluster, "index": index, "application": apps})
}

// Users.

func (s *Server) esPutUser(x *esReq) error {
	var req struct {
		Password     string         `json:"password"`
		PasswordHash string         `json:"password_hash"`
		Roles        []string       `json:"roles"`
		FullName     string         `json:"full_name"`
		Email        string         `json:"email"`
		Metadata     map[string]any `json:"metadata"`
		Enabled      *bool          `json:"enabled"`
	}
	if err := x.decodeCommand(&req); err != nil {
		return err
	}
	if req.PasswordHash != "" {
		return domain.Invalid("Validation Failed: 1: [password_hash] is not supported: send [password];")
	}
	name := x.r.PathValue("username")
	if err := x.authorize(domain.ActionPutUser, false); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	// Only this organization's members are looked at, never logins
	// elsewhere (esrealm.PutUser.MemberName).
	_, member := s.dir.RoleOf(x.org.ID, name)
	u := esrealm.PutUser{Name: name, FullName: req.FullName, Email: req.Email, Roles: req.Roles, Metadata: req.Metadata, Enabled: req.Enabled,
		MemberName: member}
	created, err := s.realm.PutUser(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, u, req.Password)
	if err != nil {
		return err
	}
	return x.write(http.StatusOK, map[string]any{"created": created})
}

func (s *Server) esDeleteUser(x *esReq) error {
	if err := esParams(x.r, "refresh"); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	err := s.realm.DeleteUser(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, x.r.PathValue("username"))
	return x.writeFound(err)
}

// writeFound answers a delete as Elasticsearch does: {"found": true}, or
// {"found": false} with 404.
func (x *esReq) writeFound(err error) error {
	switch {
	case domain.IsKind(err, domain.KindNotFound):
		return x.write(http.StatusNotFound, map[string]any{"found": false})
	case domain.IsKind(err, domain.KindForbidden):
		return x.denied(x.deleteAction())
	case err != nil:
		return err
	}
	return x.write(http.StatusOK, map[string]any{"found": true})
}

func (x *esReq) deleteAction() string {
	if strings.Contains(x.r.URL.Path, "/_security/role/") {
		return domain.ActionDeleteRole
	}
	return domain.ActionDeleteUser
}

type esUserView struct {
	Username string         `json:"username"`
	Roles    []string       `json:"roles"`
	FullName *string        `json:"full_name"`
	Email    *string        `json:"email"`
	Metadata map[string]any `json:"metadata"`
	Enabled  bool           `json:"enabled"`
}

func (s *Server) esGetUsers(x *esReq) error {
	if err := esParams(x.r, "with_profile_uid"); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionGetUser, false); err != nil {
		return err
	}
	names := splitNames(x.r.PathValue("username"))
	out := map[string]esUserView{}
	s.realms.View(x.org.ID, x.pr.ID, func(r *esrealm.Realm) {
		for name, u := range r.Users {
			if names == nil || names[name] {
				out[name] = esUserView{Username: u.Name, Roles: u.Roles, FullName: strPtr(u.FullName), Email: strPtr(u.Email),
					Metadata: u.Metadata, Enabled: u.Enabled}
			}
		}
	})
	status := http.StatusOK
	if names != nil && len(out) == 0 {
		status = http.StatusNotFound
	}
	return x.write(status, out)
}

// splitNames reads a comma-separated path part; nil means all.
func splitNames(s string) map[string]bool {
	if s == "" || s == "*" || s == "_all" {
		return nil
	}
	m := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		m[n] = true
	}
	return m
}

// Roles.

func (s *Server) esPutRole(x *esReq) error {
	raw, err := x.putBody(domain.ActionPutRole)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	created, err := s.realm.PutRole(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, x.r.PathValue("name"), raw)
	if err != nil {
		return err
	}
	return x.write(http.StatusOK, map[string]any{"role": map[string]any{"created": created}})
}

func (s *Server) esDeleteRole(x *esReq) error {
	if err := esParams(x.r, "refresh"); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	err := s.realm.DeleteRole(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, x.r.PathValue("name"))
	return x.writeFound(err)
}

func (s *Server) esGetRoles(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionGetRole, false); err != nil {
		return err
	}
	names := splitNames(x.r.PathValue("name"))
	out := map[string]domain.RoleDescriptor{}
	s.realms.View(x.org.ID, x.pr.ID, func(r *esrealm.Realm) {
		for name := range names {
			if rd, ok := r.Role(name); ok {
				out[name] = rd
			}
		}
		if names == nil {
			for name, rd := range r.Roles {
				out[name] = rd
			}
		}
	})
	status := http.StatusOK
	if names != nil && len(out) == 0 {
		status = http.StatusNotFound
	}
	return x.write(status, out)
}

// Application privileges.

func (s *Server) esPutPrivileges(x *esReq) error {
	raw, err := x.putBody(domain.ActionPutPrivileges)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	created, err := s.realm.PutPrivileges(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, raw)
	if err != nil {
		return err
	}
	out := map[string]map[string]any{}
	for app, names := range created {
		out[app] = map[string]any{}
		for n, c := range names {
			out[app][n] = map[string]bool{"created": c}
		}
	}
	return x.write(http.StatusOK, out)
}

func (s *Server) esDeletePrivileges(x *esReq) error {
	if err := esParams(x.r, "refresh"); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionDeletePrivileges, false); err != nil {
		return err
	}
	app := x.r.PathValue("application")
	names := strings.Split(x.r.PathValue("name"), ",")
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	found, err := s.realm.DeletePrivileges(ctx, x.p, x.meta(), x.org.ID, x.pr.ID, app, names)
	status := http.StatusOK
	if domain.IsKind(err, domain.KindNotFound) {
		status = http.StatusNotFound
	} else if err != nil {
		return err
	}
	body := map[string]any{}
	for n, f := range found {
		body[n] = map[string]bool{"found": f}
	}
	return x.write(status, map[string]any{app: body})
}

func (s *Server) esGetPrivileges(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionGetPrivileges, false); err != nil {
		return err
	}
	app, names := x.r.PathValue("application"), splitNames(x.r.PathValue("name"))
	out := map[string]map[string]esrealm.AppPrivilege{}
	s.realms.View(x.org.ID, x.pr.ID, func(r *esrealm.Realm) {
		for a := range r.Privileges {
			if app != "" && app != "_all" && !domain.MatchWildcard(app, a) {
				continue
			}
			for _, ap := range r.AppPrivileges(a) {
				if names == nil || names[ap.Name] {
					if out[a] == nil {
						out[a] = map[string]esrealm.AppPrivilege{}
					}
					out[a][ap.Name] = ap
				}
			}
		}
	})
	status := http.StatusOK
	if app != "" && len(out) == 0 {
		status = http.StatusNotFound
	}
	return x.write(status, out)
}

// Tokens.

func (s *Server) esGetToken(x *esReq) error {
	var req struct {
		GrantType    string `json:"grant_type"`
		Username     string `json:"username"`
		Password     string `json:"password"`
		Scope        string `json:"scope"`
		RefreshToken string `json:"refresh_token"`
		KerberosTkt  string `json:"kerberos_ticket"`
	}
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &req, false); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionCreateToken, false); err != nil {
		return err
	}
	var p domain.Principal
	var err error
	switch req.GrantType {
	case "password":
		if req.Username == "" || req.Password == "" {
			return domain.Invalid("Validation Failed: 1: username and password are required for grant_type [password];")
		}
		p, err = s.esPassword(x.r, x.org, x.pr, req.Username, req.Password)
	case "client_credentials":
		if x.p.Kind == domain.ActorKey {
			return domain.Invalid("an API key cannot be exchanged for an access token")
		}
		p = x.p
	default:
		return domain.Invalid("Validation Failed: 1: grant_type [%s] is not supported: use password or client_credentials;", req.GrantType)
	}
	if err != nil {
		return err
	}
	exp := s.now().Add(authn.TokenLifetime)
	t := authn.Token{ID: uuid.NewString(), Tenant: x.org.ID, Project: x.pr.ID, User: p.User, Realm: p.RealmName(), Expires: exp.Unix()}
	tok := s.authn.SignToken(t, x.org, x.pr)
	who := *x
	who.p = p
	who.roles, who.missing = s.esRoleNames(x.org, x.pr, p)
	x.w.Header().Set("Cache-Control", "no-store")
	return x.write(http.StatusOK, map[string]any{"access_token": tok, "type": "Bearer", "expires_in": int(authn.TokenLifetime.Seconds()),
		"scope": "full", "authentication": s.esWhoAmI(&who)})
}
