package rest

import (
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// rotateKeyRequest is the body of a rotation, both fields optional: the
// old key's grace (24h; 0s ends it at once) and the successor's
// expiration (a create's default).
type rotateKeyRequest struct {
	Grace      string `json:"grace"`
	Expiration string `json:"expiration"`
}

func (req rotateKeyRequest) command() domain.RotateKey {
	return domain.RotateKey{Grace: req.Grace, New: domain.CreateKey{Expiration: req.Expiration}}
}

// rotateKey answers POST .../api-keys/{id}/_rotate: 201 with the successor
// as a create answers it, plus rotated_from.
func (s *keysAPI) rotateKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req rotateKeyRequest
	if err := httpx.DecodeBody(r, &req, true); err != nil {
		return err
	}
	ks, k, err := s.keyInScope(r, p)
	if err != nil {
		return err
	}
	return s.rotate(w, r, p, ks.org.ID, k.ID, req)
}

// rotateSelf answers POST /api/v1/api-keys/_self/_rotate: the API key the
// request authenticates with rotates itself, so a service renews its
// credential without a person.
func (s *keysAPI) rotateSelf(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req rotateKeyRequest
	if err := httpx.DecodeBody(r, &req, true); err != nil {
		return err
	}
	if p.Kind != domain.ActorKey {
		return domain.Invalid("_self is the API key the request authenticates with: authenticate with the key to rotate (Authorization: ApiKey ...), or name it: POST /api/v1/orgs/{org}/api-keys/{id}/_rotate")
	}
	return s.rotate(w, r, p, p.Tenant, p.KeyID, req)
}

func (s *keysAPI) rotate(w http.ResponseWriter, r *http.Request, p domain.Principal, t domain.TenantID, id domain.KeyID, req rotateKeyRequest) error {
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	out, err := s.commands.RotateKey(ctx, p, httpx.Meta(w, r, p), t, id, req.command(), r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return writeCreated(w, r, out)
}
