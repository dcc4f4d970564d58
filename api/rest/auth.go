package rest

import (
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// authenticate authenticates a request of the console REST API: authn
// reads its credentials (ApiKey, Basic, or the console's session cookie).
func (s *base) authenticate(r *http.Request) (domain.Principal, error) {
	return s.authn.Console(r.Context(), httpx.AuthRequest(r))
}
