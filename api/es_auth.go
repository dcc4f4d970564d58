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
	// ref is the {project} of the path, "" at "/".
	ref string
	// roles and missing are the caller's role names, for denial messages.
	roles, missing []string
}

type esHandler func(x *esReq) error

// es wraps a handler of the Elasticsearch surface: product header,
// authentication in the request's project, errors in Elasticsearch's shape.
func (s *Server) es(h esHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Elastic-Product"] = esProduct
		err := filterPathWithin(r)
		var x *esReq
		if err == nil {
			x, err = s.esAuthenticate(w, r)
		}
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
	// The project is looked up, but an unknown one is not told apart
	// before the credential is checked: a caller without valid
	// credentials gets the same 401 for an unknown project as for another
	// tenant's, and no answer names a project it cannot see.
	if x.ref = r.PathValue("project"); x.ref != "" {
		x.org, x.pr, _ = s.esProject(x.ref)
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
	if name := r.Header.Get(runAsHeader); name != "" {
		// Elasticsearch's run_as: the request runs with the named user's
		// rights, if the caller's run_as privileges name it; never
		// ignored, or the caller would act with its own, larger rights.
		if x.p, err = s.runAs(x, x.p, name); err != nil {
			return nil, err
		}
		x.roles, x.missing = s.esRoleNames(x.org, x.pr, x.p)
	}
	return x, nil
}

// runAsHeader names the user a request runs as (Elasticsearch's header).
const runAsHeader = "es-security-runas-user"

// esKeyAuth: at "/" a project key acts in its own project.
func (s *Server) esKeyAuth(x *esReq, cred string) error {
	p, err := s.authenticateKey(cred)
	if err != nil {
		return err
	}
	if x.org == nil && x.ref != "" {
		return errBadCredentials
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
	if x.org == nil && x.ref != "" {
		// An unknown project answers, and costs, as a project that has
		// nobody of that name (esRealmPassword).
		_, err := s.checkPassword(x.r, projectUserSubject("", domain.ProjectID(x.ref), name), func() (domain.Principal, error) {
			s.Logins.SpendCheck(pw)
			return domain.Principal{}, x.notHere(name)
		})
		return err
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
// password throttle: the organization's members first, then the project's
// own users.
func (s *Server) esPassword(r *http.Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	p, err := s.checkPassword(r, s.esSubject(o, pr, name), func() (domain.Principal, error) { return s.esRealmPassword(r, o, pr, name, pw) })
	if domain.KindOf(err) == domain.KindUnauthenticated {
		// One answer for every failed password, whoever the name is here:
		// a member, a project user, a disabled one or nobody. Names are
		// the tenant's to know.
		err = unknownHere(r, name)
	}
	return p, err
}

func (s *Server) esRealmPassword(r *http.Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	if _, member := s.Dir.RoleOf(o.ID, name); member {
		// A project user never shadows a member's login: a name that is a
		// member of the organization is the member's, here too. (A project
		// user cannot be created under such a name; one that came first
		// is reached by its tokens and keys, not by Basic.) One name is
		// one principal, so the throttle counts it exactly (esSubject).
		return s.Logins.Authenticate(name, pw)
	}
	p, known, err := s.Logins.AuthenticateProjectUser(o.ID, pr.ID, name, pw)
	if known {
		return p, err
	}
	// Nobody of that name here. A login of another organization is not
	// checked: its password is not this project's business, and checking
	// it would give a guesser a fresh budget in every project. The cost
	// of a check is spent all the same.
	s.Logins.SpendCheck(pw)
	return domain.Principal{}, unknownHere(r, name)
}

// unknownHere is the 401 of a user whose credentials hold nowhere in the
// project asked for: it names only what the caller sent.
func unknownHere(r *http.Request, name string) error {
	return domain.Unauthenticated("unable to authenticate user [%s] for REST request [%s]", name, r.URL.Path)
}

func (x *esReq) notHere(name string) error { return unknownHere(x.r, name) }

// esBearerAuth accepts the access tokens of /_security/oauth2/token.
func (s *Server) esBearerAuth(x *esReq, cred string) error {
	t, err := s.readToken(cred)
	if err != nil {
		return err
	}
	if x.org == nil && x.ref != "" {
		return errBadCredentials
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
	p, ok := s.tokenUser(x.org, x.pr, t)
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
		p, _, _, ok := s.Realms.Principal(o.ID, pr.ID, name)
		return p, ok
	}
	if u, ok := s.Dir.User(name); !ok || u.MustChangePassword {
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
		_, roles, missing, _ = s.Realms.Principal(o.ID, pr.ID, p.User)
		return roles, missing
	}
	if role, ok := p.Memberships[o.ID]; ok {
		return []string{string(role)}, nil
	}
	return nil, nil
}

// ownerPermission is the live permission of a key's owner, the last set of
// the key's effective permission: a member's organization role, or a
// project-local user's current roles. A derived key's owner is found
// through the key that created it.
func (s *Server) ownerPermission(k *domain.Key) domain.RoleDescriptors {
	realm, oldest := k.Owner.Realm, k.CreatedSeq
	for by, hops := k.Owner.ByKey, 0; by != "" && hops < 8; hops++ {
		parent, ok := s.Keys.Get(k.Tenant, by)
		if !ok {
			return domain.RoleDescriptors{}
		}
		realm, by, oldest = parent.Owner.Realm, parent.Owner.ByKey, min(oldest, parent.CreatedSeq)
	}
	if realm == domain.RealmProject {
		if s.Realms == nil {
			return domain.RoleDescriptors{}
		}
		// A key of a deleted user stays without privileges when another
		// user takes the name: it is older than that user.
		if since, ok := s.Realms.UserSince(k.Tenant, k.Project, k.Owner.User); !ok || oldest < since {
			return domain.RoleDescriptors{}
		}
		p, _, _, ok := s.Realms.Principal(k.Tenant, k.Project, k.Owner.User)
		if !ok || len(p.Permission) == 0 {
			return domain.RoleDescriptors{}
		}
		return p.Permission[0]
	}
	// A member removed and invited back is a new membership: keys from
	// before the removal stay without privileges.
	role, since, ok := s.Dir.Membership(k.Tenant, k.Owner.User)
	if !ok || oldest < since {
		return domain.RoleDescriptors{}
	}
	return domain.RolePermission(role)
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
