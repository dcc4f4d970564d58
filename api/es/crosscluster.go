package es

import (
	"encoding/json"
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// checkAccess reads a request's access and derives its descriptor, as
// Elasticsearch does while parsing the request: a bad access is a 400
// before any authorization. The command decides it again.
func checkAccess(raw json.RawMessage) error {
	a, err := domain.ParseCrossClusterAccess(raw)
	if err != nil {
		return err
	}
	_, err = a.Descriptors()
	return err
}

// esCreateCrossClusterKey is POST /_security/cross_cluster/api_key: a key
// a remote cluster uses, never a REST client (authn refuses it). Who may
// create one and what it grants are the domain's (DecideCreateKey).
func (s *Server) esCreateCrossClusterKey(x *esReq) error {
	var req struct {
		Name       string          `json:"name"`
		Access     json.RawMessage `json:"access"`
		Expiration string          `json:"expiration"`
		Metadata   map[string]any  `json:"metadata"`
	}
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &req, false); err != nil {
		return err
	}
	switch {
	case req.Name == "":
		return domain.Invalid("Required [name]")
	case req.Access == nil:
		return domain.Invalid("Required [access]")
	}
	if err := (esKeySpec{Name: req.Name}).validate(); err != nil {
		return err
	}
	if err := checkAccess(req.Access); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionCreateCrossClusterKey, true); err != nil {
		return err
	}
	c := domain.CreateKey{Tenant: x.org.ID, Scope: domain.ScopeProject, Project: x.pr.ID, Type: domain.KeyCrossCluster,
		Name: req.Name, Expiration: req.Expiration, Access: req.Access, Metadata: req.Metadata, DefaultNever: true}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	out, err := s.commands.CreateKey(ctx, x.p, x.meta(), c, x.r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	x.w.Header().Set("Cache-Control", "no-store")
	return x.write(http.StatusOK, esCreated(out))
}

// esUpdateCrossClusterKey is PUT /_security/cross_cluster/api_key/{id}:
// access (and so the descriptor), metadata and expiration of one of the
// caller's own cross-cluster keys; rest keys are refused (the domain's
// ExpectType), as the rest update APIs refuse cross-cluster keys.
func (s *Server) esUpdateCrossClusterKey(x *esReq) error {
	var b struct {
		Access     json.RawMessage `json:"access"`
		Metadata   *map[string]any `json:"metadata"`
		Expiration *string         `json:"expiration"`
	}
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &b, false); err != nil {
		return err
	}
	if b.Access != nil {
		if err := checkAccess(b.Access); err != nil {
			return err
		}
	}
	if b.Access == nil && b.Metadata == nil {
		return domain.Invalid("Validation Failed: 1: must update either [access] or [metadata] for cross-cluster API keys;")
	}
	if err := x.refuseKeyCaller(); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionUpdateCrossClusterKey, true); err != nil {
		return err
	}
	u := domain.UpdateKey{Access: b.Access, Metadata: b.Metadata, Expiration: b.Expiration, ExpectType: domain.ESTypeCrossCluster}
	updated, err := s.updateOwn(x, x.r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return x.write(http.StatusOK, map[string]any{"updated": updated})
}
