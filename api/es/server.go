package es

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Config is what the Elasticsearch surface uses, given to New.
type Config struct {
	Commands *commands.Keys
	// Tenants ends access tokens (SessionEnded).
	Tenants *commands.Tenants
	// Realm changes the projects' Elasticsearch users, roles and
	// application privileges; Realms holds them.
	Realm  *commands.Realms
	Realms *tenants.Realms
	Dir    *tenants.Directory
	Keys   *projections.Keys
	// KeyIndex is the keys of each project, for the query API key API.
	KeyIndex *projections.KeyIndex
	Authn    *authn.Authenticator
	Now      func() time.Time
	Logger   *slog.Logger
}

// Server serves Elasticsearch's API, at the root and under
// /projects/{project}/ (routes.go). It is built whole by New.
type Server struct {
	commands *commands.Keys
	tenants  *commands.Tenants
	realm    *commands.Realms
	realms   *tenants.Realms
	dir      *tenants.Directory
	keys     *projections.Keys
	keyIndex *projections.KeyIndex
	authn    *authn.Authenticator
	clock    func() time.Time
	log      *slog.Logger
}

// New builds the Elasticsearch surface over its dependencies.
func New(c Config) *Server {
	s := &Server{commands: c.Commands, tenants: c.Tenants, realm: c.Realm, realms: c.Realms, dir: c.Dir,
		keys: c.Keys, keyIndex: c.KeyIndex, authn: c.Authn, clock: c.Now, log: c.Logger}
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
