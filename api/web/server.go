package web

import (
	"log/slog"
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
)

// Config is what the web console uses, given to New.
type Config struct {
	Authn *authn.Authenticator
	// Tenants records a logout for every replica (SessionEnded).
	Tenants *commands.Tenants
	Logger  *slog.Logger
}

// Server serves the web console under /console/: its files (package
// api/console) and its login, logout and session (session.go). It is built
// whole by New.
type Server struct {
	authn   *authn.Authenticator
	tenants *commands.Tenants
	log     *slog.Logger
}

// New builds the web console over its dependencies.
func New(c Config) *Server {
	s := &Server{authn: c.Authn, tenants: c.Tenants, log: c.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// writeError answers err (httpx.WriteError).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(s.log, w, r, err)
}
