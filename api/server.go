package api

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/api/cloud"
	"github.com/keyplane/keyplane/api/es"
	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/api/web"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Config is everything the HTTP API uses, given to New.
type Config struct {
	Commands *commands.Keys
	Tenants  *commands.Tenants
	Dir      *tenants.Directory
	Keys     *projections.Keys
	Trail    *rest.Trail // audit trail, as-of key lists, digests (api/rest)
	Now      func() time.Time
	Logger   *slog.Logger

	// Realm changes the projects' Elasticsearch users, roles and
	// application privileges; Realms holds them (api/es).
	Realm  *commands.Realms
	Realms *tenants.Realms
	// KeyIndex is the keys of each project, for the query API key API.
	KeyIndex *projections.KeyIndex
	// Authn authenticates every request: sessions, tokens, keys and
	// passwords under the throttle.
	Authn *authn.Authenticator

	// Probe answers /healthz and /readyz, Metrics /metrics (health.go,
	// metrics.go); MaxCommands bounds commands in flight (admission.go).
	Probe       *Probe
	Metrics     *Metrics
	MaxCommands int
}

// Server is the HTTP shell: it wraps every request (request id, panic
// recovery, JSON 404/405), admits and counts commands, serves the probes
// and metrics, and routes to the surfaces New mounts. It is built whole by
// New; nothing is assigned to it afterwards.
type Server struct {
	log     *slog.Logger
	probe   *Probe
	metrics *Metrics

	mux *http.ServeMux
	// slots admits commands (admission.go).
	slots chan struct{}
}

// New builds the API over its dependencies and routes it.
func New(c Config) *Server {
	s := &Server{log: c.Logger, probe: c.Probe, metrics: c.Metrics, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	n := c.MaxCommands
	if n <= 0 {
		n = DefaultMaxCommands
	}
	s.slots = make(chan struct{}, n)
	web.New(web.Config{Authn: c.Authn, Tenants: c.Tenants, Logger: c.Logger}).Mount(s.mux)
	s.opsRoutes()
	rest.New(rest.Config{Commands: c.Commands, Tenants: c.Tenants, Dir: c.Dir, Keys: c.Keys, Trail: c.Trail,
		Authn: c.Authn, Now: c.Now, Logger: c.Logger}).Mount(s.mux)
	es.New(es.Config{Commands: c.Commands, Tenants: c.Tenants, Realm: c.Realm, Realms: c.Realms, Dir: c.Dir,
		Keys: c.Keys, KeyIndex: c.KeyIndex, Authn: c.Authn, Now: c.Now, Logger: c.Logger}).Mount(s.mux)
	cloud.New(cloud.Config{Commands: c.Commands, Dir: c.Dir, Keys: c.Keys, Authn: c.Authn, Now: c.Now,
		Logger: c.Logger}).Mount(s.mux)
	return s
}

// Handler returns the routed handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// serve wraps every request: request id, panic recovery, JSON 404/405.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get("X-Request-Id")
	if rid == "" || len(rid) > 128 {
		rid = newRequestID()
	}
	w.Header()["X-Request-Id"] = []string{rid}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "panic", v, "path", r.URL.Path, "request_id", rid)
			httpx.WriteErrorBody(w, http.StatusInternalServerError, "exception", "internal error")
		}
	}()
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404/405 answers are plain text; clients expect JSON.
		es.MarkUnrouted(w, r)
		rec := &statusProbe{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed && cloudPath(r) {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			httpx.WriteCloudErrorBody(w, http.StatusMethodNotAllowed, "root.method_not_allowed",
				"method ["+r.Method+"] is not allowed on ["+r.URL.Path+"], allowed: "+rec.header.Get("Allow"))
			return
		}
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			httpx.WriteErrorBody(w, http.StatusMethodNotAllowed, "method_not_allowed_exception",
				"Incorrect HTTP method for uri ["+r.URL.Path+"] and method ["+r.Method+"], allowed: "+rec.header.Get("Allow"))
			return
		}
		httpx.WriteErrorBody(w, http.StatusNotFound, "resource_not_found_exception", "no handler found for uri ["+r.URL.Path+"] and method ["+r.Method+"]")
		return
	}
	s.dispatch(w, r, pattern)
}

// statusProbe captures what the mux would answer for an unrouted request.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(c int)           { p.status = c }

// newRequestID is a random (version 4) UUID in one allocation, where
// uuid.NewString takes two: every request without its own X-Request-Id
// gets one.
func newRequestID() string {
	var u uuid.UUID
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}
