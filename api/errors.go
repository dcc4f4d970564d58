package api

import (
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
)

// writeError answers err (httpx.WriteError).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.WriteError(s.log, w, r, err)
}
