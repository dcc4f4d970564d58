// Package api is keyplane's HTTP shell. It gives every request its id,
// recovers panics, answers JSON 404/405, admits commands (admission.go)
// and counts them (metrics.go), and mounts the surfaces: the console REST
// API under /api/v1 (package api/rest), the Elasticsearch API under
// /projects/{project}/ and at the root (package api/es), and the web
// console under /console/ (package api/web). Typed errors from every layer are turned into HTTP statuses and
// Elasticsearch-style bodies in exactly one place, api/httpx.
//
// The web console logs members in with a signed session cookie, the third
// way to authenticate; state changes made with it need the session's CSRF
// token (api/web).
package api
