package rest

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

type orgView struct {
	ID      domain.TenantID `json:"id"`
	Name    string          `json:"name"`
	Created time.Time       `json:"created"`
	Role    domain.Role     `json:"role,omitempty"`
}

type projectView struct {
	ID      domain.ProjectID `json:"id"`
	Name    string           `json:"name"`
	Created time.Time        `json:"created"`
}

type whoamiKey struct {
	ID         domain.KeyID     `json:"id"`
	Name       string           `json:"name"`
	Org        domain.TenantID  `json:"org"`
	Scope      domain.Scope     `json:"scope"`
	Project    domain.ProjectID `json:"project,omitempty"`
	Expiration int64            `json:"expiration,omitempty"`
}

type whoamiView struct {
	Kind   domain.ActorKind `json:"kind"`
	User   string           `json:"user"`
	APIKey *whoamiKey       `json:"api_key,omitempty"`
	Orgs   []orgView        `json:"orgs,omitempty"`
}

func (s *orgsAPI) whoami(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	out := whoamiView{Kind: p.Kind, User: p.User}
	if p.Kind == domain.ActorKey {
		out.APIKey = &whoamiKey{ID: p.KeyID, Name: p.KeyName, Org: p.Tenant, Scope: p.Scope, Project: p.Project}
		if !p.Expires.IsZero() {
			out.APIKey.Expiration = p.Expires.UnixMilli()
		}
	} else {
		out.Orgs = []orgView{}
		for id, role := range p.Memberships {
			if o, ok := s.dir.Org(string(id)); ok {
				out.Orgs = append(out.Orgs, orgView{ID: o.ID, Name: o.Name, Created: o.Created, Role: role})
			}
		}
		sort.Slice(out.Orgs, func(i, j int) bool { return out.Orgs[i].Name < out.Orgs[j].Name })
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *orgsAPI) createOrg(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	o, err := s.tenants.CreateOrg(ctx, p, httpx.Meta(w, r, p), req.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, orgView{ID: o.ID, Name: o.Name, Created: o.Created, Role: domain.RoleOwner})
	return nil
}

func (s *orgsAPI) listOrgs(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	out := []orgView{}
	for _, o := range s.dir.Orgs() {
		if p.InTenant(o.ID) {
			out = append(out, orgView{ID: o.ID, Name: o.Name, Created: o.Created, Role: o.Members[p.User]})
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

// org resolves {org} (id or name) to an organization the caller can see;
// anything else is not found.
func (s *base) org(r *http.Request, p domain.Principal) (*domain.Org, error) {
	ref := r.PathValue("org")
	o, ok := s.dir.Org(ref)
	if !ok || !p.InTenant(o.ID) {
		return nil, domain.NotFound("organization [%s] not found", ref)
	}
	return o, nil
}

// orgCommand runs one command on the path's organization: the
// organization found (or not found) for p, under the command deadline,
// with the request's envelope.
func (s *base) orgCommand(w http.ResponseWriter, r *http.Request, p domain.Principal,
	run func(ctx context.Context, m domain.Meta, org string) error) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	return run(ctx, httpx.Meta(w, r, p), string(o.ID))
}

func (s *orgsAPI) getOrg(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID, Project: p.Project}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, orgView{ID: o.ID, Name: o.Name, Created: o.Created, Role: o.Members[p.User]})
	return nil
}

func (s *orgsAPI) createProject(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	var pr *domain.Project
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) (err error) {
		pr, err = s.tenants.CreateProject(ctx, p, m, org, req.Name)
		return err
	}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, projectView{ID: pr.ID, Name: pr.Name, Created: pr.Created})
	return nil
}

func (s *orgsAPI) listProjects(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	// As getOrg: a project key asks for its own project.
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID, Project: p.Project}); err != nil {
		return err
	}
	out := []projectView{}
	for _, pr := range o.Projects {
		if p.InProject(o.ID, pr.ID) {
			out = append(out, projectView{ID: pr.ID, Name: pr.Name, Created: pr.Created})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}

func (s *orgsAPI) listMembers(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID}); err != nil {
		return err
	}
	type member struct {
		Name  string      `json:"name"`
		Email string      `json:"email,omitempty"`
		Role  domain.Role `json:"role"`
	}
	out := []member{}
	for name, role := range o.Members {
		// The address the member was invited at: the organization's own
		// data, never the login's, which other organizations may know.
		m := member{Name: name, Role: role, Email: o.MemberEmails[name]}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"members": out})
	return nil
}

func (s *orgsAPI) setContacts(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req struct {
		Emails []string `json:"emails"`
	}
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Emails == nil {
		return domain.Invalid("field [emails] is required")
	}
	var id string
	if err := s.orgCommand(w, r, p, func(ctx context.Context, m domain.Meta, org string) error {
		id = org
		return s.tenants.SetContacts(ctx, p, m, org, req.Emails)
	}); err != nil {
		return err
	}
	o, _ := s.dir.Org(id)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"emails": nonNil(o.Contacts)})
	return nil
}

func (s *orgsAPI) getContacts(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionOrgRead, domain.Target{Tenant: o.ID}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"emails": nonNil(o.Contacts)})
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
