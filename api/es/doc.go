// Package es is keyplane's Elasticsearch-compatible surface: each
// project's /_security API under /projects/{project}/ and at the root
// (routes.go). Each project is its own "cluster": credentials of another
// project are unknown there, its users, roles and application privileges
// are the project's native realm (tenants.Realms), and the query API key
// API scans a copy of the project's key records (projections.KeyIndex),
// taken under the index's lock and evaluated without it, with the query
// DSL of package esquery. Authentication is authn's (auth.go); errors are
// answered by httpx's one mapping.
package es
