package cloud

import (
	"encoding/json"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// roleAssignments is Elastic Cloud's role_assignments of a key.
type roleAssignments struct {
	Organization []orgAssignment     `json:"organization,omitempty"`
	Deployment   []scopedAssignment  `json:"deployment,omitempty"`
	Platform     []platformAssign    `json:"platform,omitempty"`
	Project      *projectAssignments `json:"project,omitempty"`
}

type orgAssignment struct {
	OrganizationID string `json:"organization_id"`
	RoleID         string `json:"role_id"`
}

// scopedAssignment is a deployment's or a project's assignment: to all of
// the organization's, or to the ones listed.
type scopedAssignment struct {
	OrganizationID   string   `json:"organization_id"`
	RoleID           string   `json:"role_id"`
	All              *bool    `json:"all,omitempty"`
	DeploymentIDs    []string `json:"deployment_ids,omitempty"`
	ProjectIDs       []string `json:"project_ids,omitempty"`
	ApplicationRoles []string `json:"application_roles,omitempty"`
}

type platformAssign struct {
	RoleID string `json:"role_id"`
}

type projectAssignments struct {
	Elasticsearch []scopedAssignment `json:"elasticsearch,omitempty"`
	Observability []scopedAssignment `json:"observability,omitempty"`
	Security      []scopedAssignment `json:"security,omitempty"`
}

// maxAssignments bounds the assignments of one key.
const maxAssignments = 64

// grant is one role assignment in keyplane's terms: a member role, in the
// whole organization (project empty) or in one project.
type grant struct {
	id      string // Elastic Cloud's role id
	role    domain.Role
	project domain.ProjectID
}

// orgRoles are Elastic Cloud's organization roles as keyplane's: an
// organization admin is an owner; billing, which keyplane does not have,
// reads.
var orgRoles = map[string]domain.Role{"organization-admin": domain.RoleOwner, "billing-admin": domain.RoleViewer}

// scopedRoles are the deployment and project roles, without their
// "deployment-", "elasticsearch-", "observability-" or "security-" prefix:
// whoever may write manages (keyplane's admin), a viewer reads.
var scopedRoles = map[string]domain.Role{"admin": domain.RoleAdmin, "editor": domain.RoleAdmin,
	"developer": domain.RoleAdmin, "viewer": domain.RoleViewer}

// grants reads role assignments for organization o.
func (ra *roleAssignments) grants(o *domain.Org) ([]grant, error) {
	if len(ra.Platform) > 0 {
		return nil, domain.Invalid("platform role assignments have no keyplane counterpart: assign organization, deployment or project roles")
	}
	if ra.count() > maxAssignments {
		// Checked first: each named project is looked up in the organization.
		return nil, domain.Invalid("at most %d role assignments per key", maxAssignments)
	}
	var out []grant
	for _, a := range ra.Organization {
		if err := sameOrg(o, a.OrganizationID); err != nil {
			return nil, err
		}
		role, ok := orgRoles[a.RoleID]
		if !ok {
			return nil, domain.Invalid("unknown organization role [%s]: use organization-admin or billing-admin", a.RoleID)
		}
		out = append(out, grant{id: a.RoleID, role: role})
	}
	for _, list := range ra.scoped() {
		for _, a := range list {
			gs, err := scopedGrants(o, a)
			if err != nil {
				return nil, err
			}
			out = append(out, gs...)
		}
	}
	return out, nil // no more than count(): one grant per project named, or one for all
}

// scoped is ra's deployment and project assignments, list by list.
func (ra *roleAssignments) scoped() [][]scopedAssignment {
	if ra.Project == nil {
		return [][]scopedAssignment{ra.Deployment}
	}
	return [][]scopedAssignment{ra.Deployment, ra.Project.Elasticsearch, ra.Project.Observability, ra.Project.Security}
}

// count is how many grants ra makes: one per organization assignment, and
// one per project a scoped assignment names (one for all of them).
func (ra *roleAssignments) count() int {
	n := len(ra.Organization)
	for _, list := range ra.scoped() {
		for _, a := range list {
			n += max(1, len(a.DeploymentIDs)+len(a.ProjectIDs))
		}
	}
	return n
}

// scopedGrants reads one deployment or project assignment: keyplane's
// projects are Elastic Cloud's deployments and projects.
func scopedGrants(o *domain.Org, a scopedAssignment) ([]grant, error) {
	if err := sameOrg(o, a.OrganizationID); err != nil {
		return nil, err
	}
	name := a.RoleID
	for _, prefix := range []string{"deployment-", "elasticsearch-", "observability-", "security-", "project-"} {
		name = strings.TrimPrefix(name, prefix)
	}
	role, ok := scopedRoles[name]
	if !ok {
		return nil, domain.Invalid("unknown role [%s]: use an admin, editor, developer or viewer role", a.RoleID)
	}
	if len(a.ApplicationRoles) > 0 {
		return nil, domain.Invalid("application_roles are not supported: a keyplane key's privileges are its role's")
	}
	ids := append(append([]string(nil), a.DeploymentIDs...), a.ProjectIDs...)
	all := a.All != nil && *a.All
	switch {
	case all && len(ids) > 0:
		return nil, domain.Invalid("role [%s]: name projects or set all, not both", a.RoleID)
	case all:
		return []grant{{id: a.RoleID, role: role}}, nil
	case len(ids) == 0:
		return nil, domain.Invalid("role [%s]: name projects or set all", a.RoleID)
	}
	out := make([]grant, 0, len(ids))
	for _, ref := range ids {
		pr, ok := o.ProjectNamed(ref)
		if !ok {
			return nil, domain.Invalid("project [%s] is not a project of the organization", ref)
		}
		out = append(out, grant{id: a.RoleID, role: role, project: pr.ID})
	}
	return out, nil
}

// sameOrg refuses an assignment to another organization than the key's,
// saying nothing of it.
func sameOrg(o *domain.Org, ref string) error {
	if ref != string(o.ID) && ref != o.Name {
		return domain.Invalid("role assignment names organization [%s], not the key's organization", ref)
	}
	return nil
}

// keyShape is what assignments make of a key: its scope, its project and
// its role descriptors (the roles' own). A keyplane key lives in its
// organization or in one project, so assignments that mix the two, or
// name several projects, are refused.
func keyShape(gs []grant) (domain.Scope, domain.ProjectID, domain.RoleDescriptors, error) {
	var project domain.ProjectID
	for i, g := range gs {
		if i > 0 && g.project != project {
			return "", "", nil, domain.Invalid("a keyplane key holds its roles in the whole organization or in one project: assign all projects, or one")
		}
		project = g.project
	}
	rds := domain.RoleDescriptors{}
	for _, g := range gs {
		for name, rd := range domain.RolePermission(g.role) {
			rds[name] = rd
		}
	}
	if project != "" {
		return domain.ScopeProject, project, rds, nil
	}
	return domain.ScopeOrg, "", rds, nil
}

// holds reports whether p holds role r in organization t: its permission
// there (a member's role, or a key's bounded permission) grants every
// cluster privilege of the role, by the one privilege evaluator. A key
// never holds more than its creator: asking for more is refused.
func holds(p domain.Principal, t domain.TenantID, r domain.Role) bool {
	perm := p.PermissionIn(t)
	if len(perm) == 0 {
		return false
	}
	for _, rd := range domain.RolePermission(r) {
		for _, c := range rd.Cluster {
			if !perm.HasCluster(c) {
				return false
			}
		}
	}
	return true
}

// descriptorsJSON is the descriptors as the create command takes them;
// none (nil) is the creator's own roles.
func descriptorsJSON(rds domain.RoleDescriptors) (json.RawMessage, error) {
	if len(rds) == 0 {
		return nil, nil
	}
	return json.Marshal(rds)
}

// rolesOf are the member roles a key was given: those of the first set of
// its own descriptors and what limited it at creation that has any, else
// its owner's live role (a key made without assignments takes its
// creator's roles). A key of other privileges (made by keyplane's own
// APIs) has none to show.
func rolesOf(k *domain.Key, live domain.Role) []domain.Role {
	for _, set := range append([]domain.RoleDescriptors{k.RoleDescriptors}, k.LimitedBy...) {
		if len(set) == 0 {
			continue
		}
		var out []domain.Role
		for _, r := range []domain.Role{domain.RoleOwner, domain.RoleAdmin, domain.RoleViewer} {
			if _, ok := set[string(r)]; ok {
				out = append(out, r)
			}
		}
		return out
	}
	if live == "" {
		return nil
	}
	return []domain.Role{live}
}

// assignmentsOf shows a key's roles as Elastic Cloud's assignments.
func assignmentsOf(k *domain.Key, roles []domain.Role) *roleAssignments {
	if len(roles) == 0 {
		return nil
	}
	ra := &roleAssignments{}
	org := string(k.Tenant)
	all := true
	for _, r := range roles {
		if k.Scope == domain.ScopeProject {
			if ra.Project == nil {
				ra.Project = &projectAssignments{}
			}
			name := "elasticsearch-" + scopedName(r)
			ra.Project.Elasticsearch = append(ra.Project.Elasticsearch,
				scopedAssignment{OrganizationID: org, RoleID: name, ProjectIDs: []string{string(k.Project)}})
			continue
		}
		if r == domain.RoleOwner {
			ra.Organization = append(ra.Organization, orgAssignment{OrganizationID: org, RoleID: "organization-admin"})
			continue
		}
		ra.Deployment = append(ra.Deployment, scopedAssignment{OrganizationID: org, RoleID: "deployment-" + scopedName(r), All: &all})
	}
	return ra
}

// scopedName is a member role's name among the deployment and project
// roles.
func scopedName(r domain.Role) string {
	if r == domain.RoleViewer {
		return "viewer"
	}
	return "admin"
}
