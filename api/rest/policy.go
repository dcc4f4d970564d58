package rest

import (
	"context"
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// policyRequest is the body of PUT .../policy: the whole policy; an absent
// or null field is unset (its default applies).
type policyRequest struct {
	DefaultExpiration *string `json:"default_expiration"`
	MaxExpiration     *string `json:"max_expiration"`
	AllowNever        *bool   `json:"allow_never"`
	MaxActiveKeys     *int    `json:"max_active_keys"`
	MaxGrace          *string `json:"max_grace"`
}

// policyView is the policy as GET and PUT answer it: every field, null
// when unset, and what applies in effect.
type policyView struct {
	DefaultExpiration *string         `json:"default_expiration"`
	MaxExpiration     *string         `json:"max_expiration"`
	AllowNever        *bool           `json:"allow_never"`
	MaxActiveKeys     *int            `json:"max_active_keys"`
	MaxGrace          *string         `json:"max_grace"`
	Effective         effectivePolicy `json:"effective"`
}

// effectivePolicy is what the policy, its defaults and the server's
// ceiling make of a key created now.
type effectivePolicy struct {
	// DefaultExpiration is the expiration of a key created without one,
	// on the console API and on the Elasticsearch surface.
	DefaultExpiration map[string]string `json:"default_expiration"`
	AllowNever        bool              `json:"allow_never"`
	ActiveKeys        int               `json:"active_keys"`
}

func (s *policyAPI) view(o *domain.Org) policyView {
	pol, never := o.Policy, s.commands.NeverAllowed()
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	v := policyView{DefaultExpiration: str(pol.DefaultExpiration), MaxExpiration: str(pol.MaxExpiration),
		AllowNever: pol.AllowNever, MaxGrace: str(pol.MaxGrace)}
	if pol.MaxActiveKeys > 0 {
		v.MaxActiveKeys = &pol.MaxActiveKeys
	}
	v.Effective = effectivePolicy{AllowNever: never && pol.NeverAllowed(), ActiveKeys: s.keys.Active(o.ID, s.now()),
		DefaultExpiration: map[string]string{"console": pol.DefaultOn(domain.SurfaceConsole, never),
			"elasticsearch": pol.DefaultOn(domain.SurfaceElasticsearch, never)}}
	return v
}

// getPolicy: every member may read the policy its keys live under.
func (s *policyAPI) getPolicy(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(o))
	return nil
}

// putPolicy replaces the policy; the domain decides who may (owners).
func (s *policyAPI) putPolicy(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req policyRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	c := domain.SetKeyPolicy{DefaultExpiration: req.DefaultExpiration, MaxExpiration: req.MaxExpiration,
		AllowNever: req.AllowNever, MaxActiveKeys: req.MaxActiveKeys, MaxGrace: req.MaxGrace, ServerNever: s.commands.NeverAllowed()}
	var id string
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		id = org
		return s.tenants.SetKeyPolicy(ctx, p, m, org, c)
	}); err != nil {
		return err
	}
	o, _ := s.dir.Org(id)
	httpx.WriteJSON(w, http.StatusOK, s.view(o))
	return nil
}
