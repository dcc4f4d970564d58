package api

import (
	"net/http"
	"time"

	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
)

// authenticate authenticates a request of the console REST API: authn
// reads its credentials (ApiKey, Basic, or the console's session cookie).
func (s *Server) authenticate(r *http.Request) (domain.Principal, error) {
	return s.authn.Console(r.Context(), authRequest(r))
}

// authRequest is what authn reads of a request. The session cookie is read
// only without an Authorization header, where it is the credential: this
// runs on every request.
func authRequest(r *http.Request) authn.Request {
	req := authn.Request{Authorization: r.Header.Get("Authorization")}
	if req.Authorization == "" {
		req, _ = sessionRequest(r)
	}
	req.Addr, req.Path, req.RunAs = sourceAddr(r), r.URL.Path, r.Header.Get(runAsHeader)
	return req
}

// runAsHeader names the user a request runs as (Elasticsearch's header).
const runAsHeader = authn.RunAsHeader

// setKeyExpiration tells a client authenticated by an API key when the key
// expires (absent for a key that never does). Both headers share one value
// slice and are set without canonicalizing: this runs on every request.
func setKeyExpiration(w http.ResponseWriter, p domain.Principal) {
	if p.Kind != domain.ActorKey || p.Expires.IsZero() {
		return
	}
	var buf [len(time.RFC3339) + 8]byte
	v := []string{string(p.Expires.UTC().AppendFormat(buf[:0], time.RFC3339))}
	h := w.Header()
	h["X-Api-Key-Expiration"] = v
	h["X-Elastic-Api-Key-Expiration"] = v
}
