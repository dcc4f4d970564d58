package cloud

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Config is what Elastic Cloud's API keys API uses, given to New.
type Config struct {
	Commands *commands.Keys
	Dir      *tenants.Directory
	Keys     *projections.Keys
	Authn    *authn.Authenticator
	Now      func() time.Time
	Logger   *slog.Logger
}

// Server serves Elastic Cloud's API keys API. It is built whole by New.
type Server struct {
	commands *commands.Keys
	dir      *tenants.Directory
	keys     *projections.Keys
	authn    *authn.Authenticator
	now      func() time.Time
	log      *slog.Logger
}

// New builds the API over its dependencies.
func New(c Config) *Server {
	s := &Server{commands: c.Commands, dir: c.Dir, keys: c.Keys, authn: c.Authn, now: c.Now, log: c.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Base is where Elastic Cloud's clients find the keys of their user.
const Base = "/api/v1/users/auth/keys"

// Mount adds the routes to mux.
func (s *Server) Mount(m *http.ServeMux) {
	m.HandleFunc("POST "+Base, s.authed(s.create))
	m.HandleFunc("GET "+Base, s.authed(s.list))
	m.HandleFunc("DELETE "+Base, s.authed(s.deleteMany))
	m.HandleFunc("GET "+Base+"/{id}", s.authed(s.get))
	m.HandleFunc("DELETE "+Base+"/{id}", s.authed(s.deleteOne))
}

// caller is who a request acts for: the principal, and the organization
// it acts in.
type caller struct {
	p   domain.Principal
	org *domain.Org
}

type handler func(w http.ResponseWriter, r *http.Request, c caller) error

// authed authenticates as the console does (an API key, a member's Basic
// password or the console's session), finds the caller's organization,
// runs h, and answers its error in Elastic Cloud's shape.
func (s *Server) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authn.Console(r.Context(), httpx.AuthRequest(r))
		if err != nil {
			httpx.WriteCloudError(s.log, w, r, err)
			return
		}
		httpx.SetKeyExpiration(w, p)
		for k := range r.URL.Query() {
			if k != "organization_id" {
				httpx.WriteCloudError(s.log, w, r, domain.Invalid("request contains unrecognized parameter: [%s]", k))
				return
			}
		}
		o, err := s.orgOf(r, p)
		if err == nil {
			err = h(w, r, caller{p: p, org: o})
		}
		if err != nil {
			httpx.WriteCloudError(s.log, w, r, err)
		}
	}
}

// orgOf is the organization the request acts in: a key's own; a member's
// only one, or the one ?organization_id= names (keyplane's addition for a
// member of several, which Elastic Cloud's users never are). Any other is
// not found, whether it exists or not.
func (s *Server) orgOf(r *http.Request, p domain.Principal) (*domain.Org, error) {
	ref := r.URL.Query().Get("organization_id")
	if p.Kind == domain.ActorKey {
		if p.Scope != domain.ScopeOrg {
			return nil, domain.Forbidden("a project API key cannot manage Elastic Cloud API keys: use an organization key")
		}
		ref = string(p.Tenant)
	}
	if ref == "" {
		if len(p.Memberships) != 1 {
			return nil, domain.Invalid("user [%s] is a member of %d organizations: name one with ?organization_id=", p.User, len(p.Memberships))
		}
		for t := range p.Memberships {
			ref = string(t)
		}
	}
	o, ok := s.dir.Org(ref)
	if !ok || !p.InTenant(o.ID) {
		return nil, domain.NotFound("organization [%s] not found", ref)
	}
	return o, nil
}
