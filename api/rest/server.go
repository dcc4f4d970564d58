package rest

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

// Config is what the console REST API uses, given to New.
type Config struct {
	Commands *commands.Keys
	Tenants  *commands.Tenants
	Dir      *tenants.Directory
	Keys     *projections.Keys
	// Trail serves the audit trail, as-of key lists and digests (audit.go);
	// nil, their routes are absent.
	Trail  *Trail
	Authn  *authn.Authenticator
	Now    func() time.Time
	Logger *slog.Logger
}

// Server serves the console REST API under /api/v1 (routes.go): the
// organizations' handlers and the keys' handlers, each its own type
// holding only what it uses. It is built whole by New.
type Server struct {
	orgs   *orgsAPI
	keys   *keysAPI
	policy *policyAPI
}

// base is what every handler of the API shares: authentication, the error
// answer, the clock and finding the path's organization (orgs.go).
type base struct {
	authn *authn.Authenticator
	log   *slog.Logger
	dir   *tenants.Directory
	clock func() time.Time
}

// orgsAPI serves organizations, projects, members, invitations and
// contacts (orgs.go, members.go).
type orgsAPI struct {
	base
	tenants *commands.Tenants
}

// keysAPI serves the API keys (keys.go, asof.go) and the audit trail
// (audit.go, digests.go).
type keysAPI struct {
	base
	commands *commands.Keys
	keys     *projections.Keys
	trail    *Trail
}

// policyAPI serves the organization's key policy (policy.go): it is set
// as an organization's command, and shown with what the keys make of it.
type policyAPI struct {
	base
	tenants  *commands.Tenants
	commands *commands.Keys
	keys     *projections.Keys
}

// New builds the console REST API over its dependencies.
func New(c Config) *Server {
	b := base{authn: c.Authn, log: c.Logger, dir: c.Dir, clock: c.Now}
	if b.clock == nil {
		b.clock = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return &Server{orgs: &orgsAPI{base: b, tenants: c.Tenants},
		keys:   &keysAPI{base: b, commands: c.Commands, keys: c.Keys, trail: c.Trail},
		policy: &policyAPI{base: b, tenants: c.Tenants, commands: c.Commands, keys: c.Keys}}
}

func (s *base) now() time.Time { return s.clock() }

// writeError answers err (httpx.WriteError).
func (s *base) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(s.log, w, r, err)
}

// handler is an authenticated endpoint.
type handler func(w http.ResponseWriter, r *http.Request, p domain.Principal) error

// authed authenticates, runs h and answers its error.
func (s *base) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		httpx.SetKeyExpiration(w, p)
		if err := h(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	}
}
