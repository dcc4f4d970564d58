package rest

import "net/http"

// Mount adds the route table of the console REST API to mux.
func (s *Server) Mount(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/whoami", s.authed(s.whoami))
	m.HandleFunc("POST /api/v1/orgs", s.authed(s.createOrg))
	m.HandleFunc("GET /api/v1/orgs", s.authed(s.listOrgs))
	m.HandleFunc("GET /api/v1/orgs/{org}", s.authed(s.getOrg))
	m.HandleFunc("POST /api/v1/orgs/{org}/projects", s.authed(s.createProject))
	m.HandleFunc("GET /api/v1/orgs/{org}/projects", s.authed(s.listProjects))
	m.HandleFunc("POST /api/v1/orgs/{org}/members", s.authed(s.addMember))
	m.HandleFunc("GET /api/v1/orgs/{org}/members", s.authed(s.listMembers))
	m.HandleFunc("PUT /api/v1/orgs/{org}/members/{name}", s.authed(s.changeMemberRole))
	m.HandleFunc("DELETE /api/v1/orgs/{org}/members/{name}", s.authed(s.removeMember))
	m.HandleFunc("POST /api/v1/orgs/{org}/members/{name}/_force_password_reset", s.authed(s.forcePasswordReset))
	m.HandleFunc("POST /api/v1/orgs/{org}/invitations", s.authed(s.createInvitation))
	m.HandleFunc("GET /api/v1/orgs/{org}/invitations", s.authed(s.listInvitations))
	m.HandleFunc("DELETE /api/v1/orgs/{org}/invitations/{id}", s.authed(s.revokeInvitation))
	m.HandleFunc("POST /api/v1/invitations/_accept", s.acceptInvitation)
	m.HandleFunc("PUT /api/v1/users/_password", s.changePassword)
	m.HandleFunc("PUT /api/v1/orgs/{org}/contacts", s.authed(s.setContacts))
	m.HandleFunc("GET /api/v1/orgs/{org}/contacts", s.authed(s.getContacts))

	for _, base := range []string{"/api/v1/orgs/{org}/api-keys", "/api/v1/orgs/{org}/projects/{project}/api-keys"} {
		m.HandleFunc("POST "+base, s.authed(s.createKey))
		m.HandleFunc("GET "+base, s.authed(s.listKeys))
		m.HandleFunc("POST "+base+"/_bulk_delete", s.authed(s.bulkDeleteKeys))
		m.HandleFunc("GET "+base+"/{id}", s.authed(s.getKey))
		m.HandleFunc("PUT "+base+"/{id}", s.authed(s.updateKey))
		m.HandleFunc("DELETE "+base+"/{id}", s.authed(s.deleteKey))
	}
	s.trailRoutes(m)
}
