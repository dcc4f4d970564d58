package rest

import "net/http"

// Router is where routes are added: an *http.ServeMux, or a test's
// record of the route table (openapi_test.go).
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Mount adds the route table of the console REST API to mux.
func (s *Server) Mount(m Router) {
	o, k := s.orgs, s.keys
	m.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	m.HandleFunc("GET /api/v1/whoami", o.authed(o.whoami))
	m.HandleFunc("POST /api/v1/orgs", o.authed(o.createOrg))
	m.HandleFunc("GET /api/v1/orgs", o.authed(o.listOrgs))
	m.HandleFunc("GET /api/v1/orgs/{org}", o.authed(o.getOrg))
	m.HandleFunc("POST /api/v1/orgs/{org}/projects", o.authed(o.createProject))
	m.HandleFunc("GET /api/v1/orgs/{org}/projects", o.authed(o.listProjects))
	m.HandleFunc("POST /api/v1/orgs/{org}/members", o.authed(o.addMember))
	m.HandleFunc("GET /api/v1/orgs/{org}/members", o.authed(o.listMembers))
	m.HandleFunc("PUT /api/v1/orgs/{org}/members/{name}", o.authed(o.changeMemberRole))
	m.HandleFunc("DELETE /api/v1/orgs/{org}/members/{name}", o.authed(o.removeMember))
	m.HandleFunc("POST /api/v1/orgs/{org}/members/{name}/_force_password_reset", o.authed(o.forcePasswordReset))
	m.HandleFunc("POST /api/v1/orgs/{org}/invitations", o.authed(o.createInvitation))
	m.HandleFunc("GET /api/v1/orgs/{org}/invitations", o.authed(o.listInvitations))
	m.HandleFunc("DELETE /api/v1/orgs/{org}/invitations/{id}", o.authed(o.revokeInvitation))
	m.HandleFunc("POST /api/v1/invitations/_accept", o.acceptInvitation)
	m.HandleFunc("PUT /api/v1/users/_password", o.changePassword)
	m.HandleFunc("PUT /api/v1/orgs/{org}/contacts", o.authed(o.setContacts))
	m.HandleFunc("GET /api/v1/orgs/{org}/contacts", o.authed(o.getContacts))
	pol := s.policy
	m.HandleFunc("PUT /api/v1/orgs/{org}/policy", pol.authed(pol.putPolicy))
	m.HandleFunc("GET /api/v1/orgs/{org}/policy", pol.authed(pol.getPolicy))

	for _, base := range []string{"/api/v1/orgs/{org}/api-keys", "/api/v1/orgs/{org}/projects/{project}/api-keys"} {
		m.HandleFunc("POST "+base, k.authed(k.createKey))
		m.HandleFunc("GET "+base, k.authed(k.listKeys))
		m.HandleFunc("POST "+base+"/_bulk_delete", k.authed(k.bulkDeleteKeys))
		m.HandleFunc("GET "+base+"/{id}", k.authed(k.getKey))
		m.HandleFunc("PUT "+base+"/{id}", k.authed(k.updateKey))
		m.HandleFunc("DELETE "+base+"/{id}", k.authed(k.deleteKey))
		m.HandleFunc("POST "+base+"/{id}/_rotate", k.authed(k.rotateKey))
	}
	m.HandleFunc("POST /api/v1/api-keys/_self/_rotate", k.authed(k.rotateSelf))
	k.trailRoutes(m)
}
