// Package api is keyplane's HTTP shell and its console REST API under
// /api/v1, authenticated by Basic (members) or ApiKey (keys). The shell
// (server.go) gives every request its id, recovers panics, answers JSON
// 404/405, admits commands (admission.go) and counts them (metrics.go);
// it mounts the surfaces. Typed errors from every layer are turned into
// HTTP statuses and Elasticsearch-style bodies in exactly one place,
// api/httpx.
//
// The web console (package api/console, mounted at /console/) logs members
// in with a signed session cookie, the third way to authenticate; state
// changes made with it need the session's CSRF token (session.go).
//
// The Elasticsearch-compatible surface is package api/es, which serves
// each project's /_security API under /projects/{project}/ and at the root.
package api
