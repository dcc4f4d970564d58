package api

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// esReq is one request of the Elasticsearch surface: who asks, and the
// project it acts in (each project is its own "cluster").
type esReq struct {
	w   http.ResponseWriter
	r   *http.Request
	s   *Server
	p   domain.Principal
	org *domain.Org
	pr  *domain.Project
	// roles and missing are the caller's role names, for denial messages.
	roles, missing []string
}

type esHandler func(x *esReq) error

// es wraps a handler of the Elasticsearch surface: product header,
// authentication in the request's project, errors in Elasticsearch's shape.
func (s *Server) es(h esHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Elastic-Product"] = esProduct
		x, err := s.esAuthenticate(w, r)
		if err == nil {
			err = h(x)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// esProject resolves {project}: a project id of any organization, or else
// a project name of the "default" organization. Ids come first, so that
// no project of "default" can be named into another organization's
// address.
func (s *Server) esProject(ref string) (*domain.Org, *domain.Project, bool) {
	if o, pr, ok := s.Dir.Project(domain.ProjectID(ref)); ok {
		return o, pr, true
	}
	if def, ok := s.Dir.Org("default"); ok {
		if pr, ok := def.ProjectNamed(ref); ok {
			return def, pr, true
		}
	}
	return nil, nil, false
}

// esDefault is where "/" acts: project "default" of organization t, or of
// organization "default".
func (s *Server) esDefault(t domain.TenantID) (*domain.Org, *domain.Project, error) {
	ref := string(t)
	if ref == "" {
		ref = "default"
	}
	if o, ok := s.Dir.Org(ref); ok {
		if pr, ok := o.ProjectNamed("default"); ok {
			return o, pr, nil
		}
	}
	return nil, nil, domain.NotFound("no default project: use /projects/{project}/")
}

var errBadCredentials = domain.Unauthenticated("unable to authenticate with provided credentials")

// esAuthenticate finds the project and the caller. A credential of another
// project (or organization) is unknown here: 401, as a key of another
// Elasticsearch cluster would be.
func (s *Server) esAuthenticate(w http.ResponseWriter, r *http.Request) (*esReq, error) {
	x := &esReq{w: w, r: r, s: s}
	if ref := r.PathValue("project"); ref != "" {
		var ok bool
		if x.org, x.pr, ok = s.esProject(ref); !ok {
			return nil, domain.NotFound("project [%s] not found", ref)
		}
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	var err error
	switch {
	case scheme == "":
		return nil, domain.Unauthenticated("missing authentication credentials for REST request [%s]", r.URL.Path)
	case strings.EqualFold(scheme, "ApiKey"):
		err = s.esKeyAuth(x, cred)
	case strings.EqualFold(scheme, "Basic"):
		err = s.esBasicAuth(x, cred)
	case strings.EqualFold(scheme, "Bearer"):
		err = s.esBearerAuth(x, cred)
	default:
		err = domain.Unauthenticated("unsupported authentication scheme [%s]", scheme)
	}
	if err != nil {
		return nil, err
	}
	setKeyExpiration(w, x.p)
	return x, nil
}

// esKeyAuth: at "/" a project key acts in its own project.
func (s *Server) esKeyAuth(x *esReq, cred string) error {
	p, err := s.authenticateKey(cred)
	if err != nil {
		return err
	}
	if x.org == nil {
		if p.Scope == domain.ScopeProject {
			o, ok := s.Dir.Org(string(p.Tenant))
			if !ok || o.Projects[p.Project] == nil {
				return errBadCredentials
			}
			x.org, x.pr = o, o.Projects[p.Project]
		} else if x.org, x.pr, err = s.esDefault(p.Tenant); err != nil {
			return err
		}
	}
	if !p.InProject(x.org.ID, x.pr.ID) {
		return errBadCredentials
	}
	x.p = p
	return nil
}

// esBasicAuth: a user of the project's realm, else a member of its
// organization.
func (s *Server) esBasicAuth(x *esReq, cred string) error {
	raw, err := base64.StdEncoding.DecodeString(cred)
	name, pw, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		return domain.Unauthenticated("invalid basic authentication header")
	}
	if x.org == nil {
		if x.org, x.pr, err = s.esDefault(""); err != nil {
			return err
		}
	}
	x.p, err = s.esPassword(x.r, x.org, x.pr, name, pw)
	if err != nil {
		return err
	}
	x.roles, x.missing = s.esRoleNames(x.org, x.pr, x.p)
	return nil
}

// esPassword checks a user name and password in a project, under the
// password throttle: its own users first, then the organization's members.
func (s *Server) esPassword(r *http.Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	return s.checkPassword(r, s.esSubject(o, pr, name), func() (domain.Principal, error) { return s.esRealmPassword(o, pr, name, pw) })
}

func (s *Server) esRealmPassword(o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	p, known, err := s.Realm.Authenticate(o.ID, pr.ID, name, pw)
	if known {
		return p, err
	}
	p, err = s.Tenants.Authenticate(name, pw)
	if err != nil {
		return p, err
	}
	if !p.InTenant(o.ID) {
		return domain.Principal{}, domain.Unauthenticated("unable to authenticate user [%s] for REST request [%s]", name, "project "+pr.Name)
	}
	return p, nil
}

// esBearerAuth accepts the access tokens of /_security/oauth2/token.
func (s *Server) esBearerAuth(x *esReq, cred string) error {
	t, err := s.readToken(cred)
	if err != nil {
		return err
	}
	if x.org == nil {
		o, ok := s.Dir.Org(string(t.Tenant))
		if !ok || o.Projects[t.Project] == nil {
			return errBadCredentials
		}
		x.org, x.pr = o, o.Projects[t.Project]
	}
	if x.org.ID != t.Tenant || x.pr.ID != t.Project {
		return errBadCredentials
	}
	p, ok := s.esUser(x.org, x.pr, t.User, t.Realm)
	if !ok {
		return domain.Unauthenticated("token malformed or expired")
	}
	x.p = p
	x.roles, x.missing = s.esRoleNames(x.org, x.pr, p)
	return nil
}

// esUser finds a user by name and realm without a password (run_as and
// tokens): a project-local user or a member of the organization.
func (s *Server) esUser(o *domain.Org, pr *domain.Project, name, realm string) (domain.Principal, bool) {
	if realm == domain.RealmProject {
		p, _, _, ok := s.Realm.Realms.Principal(o.ID, pr.ID, name)
		return p, ok
	}
	if _, ok := s.Dir.User(name); !ok {
		return domain.Principal{}, false
	}
	p := domain.Principal{Kind: domain.ActorUser, User: name, Memberships: s.Dir.Memberships(name)}
	return p, p.InTenant(o.ID)
}

// esRoleNames are the caller's roles as denial messages name them.
func (s *Server) esRoleNames(o *domain.Org, pr *domain.Project, p domain.Principal) (roles, missing []string) {
	switch {
	case p.Kind == domain.ActorKey:
		return nil, nil
	case p.Realm == domain.RealmProject:
		_, roles, missing, _ = s.Realm.Realms.Principal(o.ID, pr.ID, p.User)
		return roles, missing
	}
	if role, ok := p.Memberships[o.ID]; ok {
		return []string{string(role)}, nil
	}
	return nil, nil
}

// realmOf is the realm name of the principal's user.
func realmOf(p domain.Principal) string {
	if p.Realm != "" {
		return p.Realm
	}
	return domain.RealmMembers
}

// ownerPermission is the live permission of a key's owner, the last set of
// the key's effective permission: a member's organization role, or a
// project-local user's current roles. A derived key's owner is found
// through the key that created it.
func (s *Server) ownerPermission(k *domain.Key) domain.RoleDescriptors {
	realm := k.Owner.Realm
	for by, hops := k.Owner.ByKey, 0; by != "" && hops < 8; hops++ {
		parent, ok := s.Keys.Get(k.Tenant, by)
		if !ok {
			return domain.RoleDescriptors{}
		}
		realm, by = parent.Owner.Realm, parent.Owner.ByKey
	}
	if realm == domain.RealmProject {
		if s.Realm == nil {
			return domain.RoleDescriptors{}
		}
		p, _, _, ok := s.Realm.Realms.Principal(k.Tenant, k.Project, k.Owner.User)
		if !ok || len(p.Permission) == 0 {
			return domain.RoleDescriptors{}
		}
		return p.Permission[0]
	}
	if role, ok := s.Dir.RoleOf(k.Tenant, k.Owner.User); ok {
		return domain.RolePermission(role)
	}
	return domain.RoleDescriptors{}
}

// target is the request's project as an authorization target.
func (x *esReq) target(own bool) domain.Target {
	return domain.Target{Tenant: x.org.ID, Project: x.pr.ID, Own: own}
}

// can reports whether the caller may do action (on its own keys, if own).
func (x *esReq) can(action string, own bool) bool {
	return x.p.Authorize(action, x.target(own)) == nil
}

// authorize is can with Elasticsearch's denial message.
func (x *esReq) authorize(action string, own bool) error {
	err := x.p.Authorize(action, x.target(own))
	if domain.IsKind(err, domain.KindForbidden) {
		return x.denied(action)
	}
	return err
}

func (x *esReq) denied(action string) error {
	return domain.Forbidden("%s", domain.DeniedReason(x.p, x.roles, x.missing, action))
}

// meta is the envelope of the events this request causes.
func (x *esReq) meta() domain.Meta { return x.s.meta(x.w, x.r, x.p) }

// write answers v with status.
func (x *esReq) write(status int, v any) error {
	esWrite(x.w, x.r, status, v)
	return nil
}
