package es

import (
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/domain"
)

// esReq is one request of the Elasticsearch surface: who asks, and the
// project it acts in (each project is its own "cluster").
type esReq struct {
	w   http.ResponseWriter
	r   *http.Request
	s   *Server
	p   domain.Principal
	org *domain.Org
	pr  *domain.Project
	// ref is the {project} of the path, "" at "/".
	ref string
	// roles and missing are the caller's role names, for denial messages.
	roles, missing []string
}

type esHandler func(x *esReq) error

// es wraps a handler of the Elasticsearch surface: product header,
// authentication in the request's project, errors in Elasticsearch's shape.
func (s *Server) es(h esHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Elastic-Product"] = esProduct
		err := filterPathWithin(r)
		var x *esReq
		if err == nil {
			x, err = s.esAuthenticate(w, r)
		}
		if err == nil {
			err = h(x)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// esAuthenticate finds the project and the caller (authn.Project).
func (s *Server) esAuthenticate(w http.ResponseWriter, r *http.Request) (*esReq, error) {
	req := httpx.AuthRequest(r)
	req.Project = r.PathValue("project")
	acc, err := s.authn.Project(r.Context(), req)
	// The caller's key expiry is told even when its run_as is refused.
	httpx.SetKeyExpiration(w, acc.Caller)
	if err != nil {
		return nil, err
	}
	return &esReq{w: w, r: r, s: s, p: acc.Principal, org: acc.Org, pr: acc.Project, ref: req.Project,
		roles: acc.Roles, missing: acc.Missing}, nil
}

// esPassword checks a user name and password in the request's project,
// under the password throttle (authn.ProjectPassword).
func (s *Server) esPassword(r *http.Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	return s.authn.ProjectPassword(r.Context(), authn.Request{Addr: httpx.SourceAddr(r), Path: r.URL.Path}, o, pr, name, pw)
}

// esRoleNames are the caller's roles as denial messages name them.
func (s *Server) esRoleNames(o *domain.Org, pr *domain.Project, p domain.Principal) (roles, missing []string) {
	return s.authn.RoleNames(o, pr, p)
}

// target is the request's project as an authorization target.
func (x *esReq) target(own bool) domain.Target {
	return domain.Target{Tenant: x.org.ID, Project: x.pr.ID, Own: own}
}

// can reports whether the caller may do action (on its own keys, if own).
func (x *esReq) can(action string, own bool) bool {
	return x.p.Authorize(action, x.target(own)) == nil
}

// authorize is can with Elasticsearch's denial message.
func (x *esReq) authorize(action string, own bool) error {
	err := x.p.Authorize(action, x.target(own))
	if domain.IsKind(err, domain.KindForbidden) {
		return x.denied(action)
	}
	return err
}

func (x *esReq) denied(action string) error {
	return domain.Forbidden("%s", domain.DeniedReason(x.p, x.roles, x.missing, action))
}

// meta is the envelope of the events this request causes.
func (x *esReq) meta() domain.Meta { return httpx.Meta(x.w, x.r, x.p) }

// write answers v with status.
func (x *esReq) write(status int, v any) error {
	esWrite(x.w, x.r, status, v)
	return nil
}
