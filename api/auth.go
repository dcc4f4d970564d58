package api

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// authenticate reads the Authorization header: "ApiKey <base64(id:key)>"
// (scheme case-insensitive, as the Go client sends "APIKey") or Basic.
func (s *Server) authenticate(r *http.Request) (domain.Principal, error) {
	if r.Header.Get(runAsHeader) != "" {
		// Refused, never ignored: ignoring it would run the request with
		// the caller's own, larger rights.
		return domain.Principal{}, domain.Forbidden("run as [%s] is only supported on the Elasticsearch API", runAsHeader)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		// The web console's session cookie (session.go) is the third way.
		if p, ok, err := s.sessionPrincipal(r); ok {
			return p, err
		}
		return domain.Principal{}, domain.Unauthenticated("missing authentication credentials for REST request [%s]", r.URL.Path)
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "ApiKey"):
		return s.authenticateKey(cred)
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return domain.Principal{}, domain.Unauthenticated("invalid basic authentication header")
		}
		name, pw, ok := strings.Cut(string(raw), ":")
		if !ok {
			return domain.Principal{}, domain.Unauthenticated("invalid basic authentication header")
		}
		return s.checkPassword(r, memberSubject(name), func() (domain.Principal, error) { return s.Logins.Authenticate(name, pw) })
	}
	return domain.Principal{}, domain.Unauthenticated("unsupported authentication scheme [%s]", scheme)
}

// AuthenticateKey verifies an encoded API key credential and builds the
// key's principal with its effective permission.
func (s *Server) authenticateKey(cred string) (domain.Principal, error) {
	var buf [256]byte
	id, secret, err := domain.ParseAPIKeyCredential(cred, buf[:])
	if err != nil {
		s.Metrics.authMalformed()
		return domain.Principal{}, err
	}
	v := s.Auth.Verify(id, secret, s.now())
	s.Metrics.authVerdict(v)
	switch v {
	case projections.Valid:
	case projections.Expired:
		return domain.Principal{}, domain.Unauthenticated("api key is expired")
	case projections.Invalidated:
		return domain.Principal{}, domain.Unauthenticated("api key has been invalidated")
	default:
		return domain.Principal{}, domain.Unauthenticated("unable to authenticate with provided credentials")
	}
	k, ok := s.Keys.ByID(domain.KeyID(id))
	if !ok {
		return domain.Principal{}, domain.Unauthenticated("unable to authenticate with provided credentials")
	}
	return s.keyPrincipal(&k), nil
}

// keyPrincipal is a key's identity and effective permission: its own
// descriptors (if any), what limited it at creation, and its owner's
// current role, intersected.
func (s *Server) keyPrincipal(k *domain.Key) domain.Principal {
	// Sized for all three parts at once: this runs on every request.
	perm := make(domain.Permission, 0, len(k.LimitedBy)+2)
	if len(k.RoleDescriptors) > 0 {
		perm = append(perm, k.RoleDescriptors)
	}
	perm = append(perm, k.LimitedBy...)
	// The owner's live role, or a project-local user's roles (es_auth.go).
	perm = append(perm, s.ownerPermission(k))
	return domain.Principal{Kind: domain.ActorKey, User: k.Owner.User, Realm: k.Owner.Realm, KeyID: k.ID, KeyName: k.Name, Tenant: k.Tenant,
		Scope: k.Scope, Project: k.Project, Permission: perm, Expires: k.Expires}
}

// setKeyExpiration tells a client authenticated by an API key when the key
// expires (absent for a key that never does). Both headers share one value
// slice and are set without canonicalizing: this runs on every request.
func setKeyExpiration(w http.ResponseWriter, p domain.Principal) {
	if p.Kind != domain.ActorKey || p.Expires.IsZero() {
		return
	}
	var buf [len(time.RFC3339) + 8]byte
	v := []string{string(p.Expires.UTC().AppendFormat(buf[:0], time.RFC3339))}
	h := w.Header()
	h["X-Api-Key-Expiration"] = v
	h["X-Elastic-Api-Key-Expiration"] = v
}
