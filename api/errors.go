package api

import (
	"net/http"
	"strings"

	"github.com/keyplane/keyplane/api/cloud"
	"github.com/keyplane/keyplane/api/httpx"
)

// writeError answers err (httpx.WriteError), in Elastic Cloud's shape on
// its API.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if cloudPath(r) {
		httpx.WriteCloudError(s.log, w, r, err)
		return
	}
	httpx.WriteError(s.log, w, r, err)
}

// cloudPath reports a request to Elastic Cloud's API keys API (api/cloud),
// whose clients read only Elastic Cloud's error shape.
func cloudPath(r *http.Request) bool {
	return r.URL.Path == cloud.Base || strings.HasPrefix(r.URL.Path, cloud.Base+"/")
}
