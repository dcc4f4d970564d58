package api

import (
	"net/http"

	"github.com/keyplane/keyplane/domain"
)

// DefaultMaxCommands bounds the commands one replica runs at once when
// Config.MaxCommands is zero. Commands wait on the log; past this many, the
// log is slow or gone, and queueing more would only turn a brief stall into
// a pile of timeouts and memory. The excess is answered 503 with
// Retry-After at once. Reads and authentication are never limited: they
// are served from local projections and keep working whatever the log does.
const DefaultMaxCommands = 512

var errOverloaded = &domain.Error{Kind: domain.KindUnavailable, Op: "admit command",
	Reason: "too many commands in progress on this replica, retry later"}

// dispatch runs a routed request. Commands are admitted under the
// in-flight bound and counted by outcome; everything else goes straight to
// its handler.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, pattern string) {
	name, isCommand := commandName(r.Method, pattern)
	if !isCommand {
		s.mux.ServeHTTP(w, r)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		s.metrics.command(name, "overloaded")
		s.writeError(w, r, errOverloaded)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	s.metrics.command(name, outcomeOf(sw.status))
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
