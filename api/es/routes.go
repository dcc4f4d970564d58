package es

import "net/http"

// Mount adds the route table of the Elasticsearch-compatible surface. It
// is served twice: under /projects/{project}/ (a project id, or a project
// name of organization "default") and at the root, which acts in the
// project of a project key, or else in project "default" of organization
// "default", so that a client pointed at http://127.0.0.1:9200 works.
func (s *Server) Mount(mux *http.ServeMux) {
	routes := []struct {
		methods []string
		path    string
		h       esHandler
	}{
		{[]string{"GET"}, "/{$}", s.esRoot},
		{[]string{"GET"}, "/_cluster/health", s.esHealth},
		{[]string{"GET"}, "/_cluster/health/{index}", s.esHealth},
		{[]string{"GET"}, "/_security/_authenticate", s.esAuthenticateMe},
		{[]string{"POST", "PUT"}, "/_security/api_key", s.esCreateKey},
		{[]string{"GET"}, "/_security/api_key", s.esGetKeys},
		{[]string{"DELETE"}, "/_security/api_key", s.esInvalidateKeys},
		{[]string{"PUT"}, "/_security/api_key/{id}", s.esUpdateKey},
		{[]string{"POST"}, "/_security/api_key/_bulk_update", s.esBulkUpdateKeys},
		{[]string{"POST", "PUT"}, "/_security/cross_cluster/api_key", s.esCreateCrossClusterKey},
		{[]string{"PUT"}, "/_security/cross_cluster/api_key/{id}", s.esUpdateCrossClusterKey},
		{[]string{"POST"}, "/_security/api_key/grant", s.esGrantKey},
		{[]string{"POST"}, "/_security/api_key/_bulk_grant", s.esBulkGrantKeys},
		{[]string{"POST"}, "/_security/api_key/{ids}/_clear_cache", s.esClearKeyCache},
		{[]string{"GET", "POST"}, "/_security/_query/api_key", s.esQueryKeys},
		{[]string{"GET", "POST"}, "/_security/user/_has_privileges", s.esHasPrivileges},
		{[]string{"GET", "POST"}, "/_security/user/{user}/_has_privileges", s.esHasPrivileges},
		{[]string{"PUT", "POST"}, "/_security/user/{username}", s.esPutUser},
		{[]string{"DELETE"}, "/_security/user/{username}", s.esDeleteUser},
		{[]string{"GET"}, "/_security/user", s.esGetUsers},
		{[]string{"GET"}, "/_security/user/{username}", s.esGetUsers},
		{[]string{"PUT", "POST"}, "/_security/role/{name}", s.esPutRole},
		{[]string{"DELETE"}, "/_security/role/{name}", s.esDeleteRole},
		{[]string{"GET"}, "/_security/role", s.esGetRoles},
		{[]string{"GET"}, "/_security/role/{name}", s.esGetRoles},
		{[]string{"PUT", "POST"}, "/_security/privilege", s.esPutPrivileges},
		{[]string{"PUT", "POST"}, "/_security/privilege/{$}", s.esPutPrivileges},
		{[]string{"DELETE"}, "/_security/privilege/{application}/{name}", s.esDeletePrivileges},
		{[]string{"GET"}, "/_security/privilege", s.esGetPrivileges},
		{[]string{"GET"}, "/_security/privilege/{application}", s.esGetPrivileges},
		{[]string{"GET"}, "/_security/privilege/{application}/{name}", s.esGetPrivileges},
		{[]string{"POST"}, "/_security/oauth2/token", s.esGetToken},
		{[]string{"DELETE"}, "/_security/oauth2/token", s.esInvalidateToken},
	}
	for _, prefix := range []string{"", "/projects/{project}"} {
		for _, rt := range routes {
			for _, m := range rt.methods {
				mux.HandleFunc(m+" "+prefix+rt.path, s.es(rt.h))
			}
		}
	}
}
