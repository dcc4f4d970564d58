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

// Server serves the console REST API under /api/v1 (routes.go). It is
// built whole by New.
type Server struct {
	commands *commands.Keys
	tenants  *commands.Tenants
	dir      *tenants.Directory
	keys     *projections.Keys
	trail    *Trail
	authn    *authn.Authenticator
	clock    func() time.Time
	log      *slog.Logger
}

// New builds the console REST API over its dependencies.
func New(c Config) *Server {
	s := &Server{commands: c.Commands, tenants: c.Tenants, dir: c.Dir, keys: c.Keys, trail: c.Trail,
		authn: c.Authn, clock: c.Now, log: c.Logger}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

func (s *Server) now() time.Time { return s.clock() }

// writeError answers err (httpx.WriteError).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(s.log, w, r, err)
}

// handler is an authenticated endpoint.
type handler func(w http.ResponseWriter, r *http.Request, p domain.Principal) error

// authed authenticates, runs h and answers its error.
func (s *Server) authed(h handler) http.HandlerFunc {
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
