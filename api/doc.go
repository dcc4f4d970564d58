// Package api is keyplane's HTTP surface: the console REST API under
// /api/v1, authenticated by Basic (members) or ApiKey (keys). Typed errors
// from every layer are turned into HTTP statuses and Elasticsearch-style
// bodies in exactly one place, errors.go.
//
// The web console (package api/console, mounted at /console/) logs members
// in with a signed session cookie, the third way to authenticate; state
// changes made with it need the session's CSRF token (session.go).
package api
