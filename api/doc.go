// Package api is keyplane's HTTP surface: the console REST API under
// /api/v1, authenticated by Basic (members) or ApiKey (keys). Typed errors
// from every layer are turned into HTTP statuses and Elasticsearch-style
// bodies in exactly one place, errors.go.
//
// The web console (package api/console, mounted at /console/) logs members
// in with a signed session cookie, the third way to authenticate; state
// changes made with it need the session's CSRF token (session.go).
//
// The Elasticsearch-compatible surface (es_*.go, routes in es_routes.go)
// serves each project's /_security API under /projects/{project}/ and at
// the root. Each project is its own "cluster": credentials of another
// project are unknown there, its users, roles and application privileges
// are the project's native realm (tenants.Realms), and the query API key
// API scans a copy of the project's key records (projections.KeyIndex),
// taken under the index's lock and evaluated without it, with the query
// DSL of package esquery.
package api
