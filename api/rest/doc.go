// Package rest is keyplane's console REST API under /api/v1 (routes.go):
// organizations, projects, members, invitations and contacts, API keys,
// the audit trail, as-of key lists and the operator's digests. A request
// authenticates by Basic (members), ApiKey (keys) or the console's session
// cookie (authn.Console), once, in authed; errors are answered by httpx's
// one mapping.
package rest
