// Package api is keyplane's HTTP surface: the console REST API under
// /api/v1, authenticated by Basic (members) or ApiKey (keys). Typed errors
// from every layer are turned into HTTP statuses and Elasticsearch-style
// bodies in exactly one place, errors.go.
package api
