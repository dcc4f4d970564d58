package authn

import (
	"encoding/base64"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// Request is what authentication reads of a request, as plain values: the
// api package fills it from HTTP.
type Request struct {
	// Authorization is the Authorization header's value.
	Authorization string
	// Cookie is the console session cookie's value; HasCookie says whether
	// the request carried one at all.
	Cookie    string
	HasCookie bool
	// StateChange is a method that changes state (not GET, HEAD or
	// OPTIONS); SameOrigin is false when a browser marks the request as
	// coming from another site; CSRF is the X-CSRF-Token header. A session
	// needs all three to change state.
	StateChange bool
	SameOrigin  bool
	CSRF        string
	// Addr is the source address (no port), what the throttle counts.
	Addr string
	// Path is the request's path, which 401 answers name.
	Path string
	// RunAs is the es-security-runas-user header.
	RunAs string
	// Project is the {project} of an Elasticsearch path, "" at "/".
	Project string
}

// Header names authentication reads, for api and for messages.
const (
	RunAsHeader = "es-security-runas-user"
	CSRFHeader  = "X-CSRF-Token"
)

// Scheme is an Authorization header's scheme.
type Scheme uint8

const (
	// NoCredentials: no Authorization header at all.
	NoCredentials Scheme = iota
	APIKey
	Basic
	Bearer
	// OtherScheme is any other scheme, or a header without one.
	OtherScheme
)

// Credentials is an Authorization header, parsed once.
type Credentials struct {
	Scheme Scheme
	// Name is the scheme as sent (for messages); Value what follows it,
	// trimmed.
	Name, Value string
}

// Parse reads an Authorization header: "ApiKey <base64(id:key)>" (scheme
// case-insensitive, as the Go client sends "APIKey"), Basic or Bearer.
func Parse(header string) Credentials {
	if header == "" {
		return Credentials{}
	}
	scheme, cred, _ := strings.Cut(header, " ")
	c := Credentials{Scheme: OtherScheme, Name: scheme, Value: strings.TrimSpace(cred)}
	switch {
	case scheme == "":
	case strings.EqualFold(scheme, "ApiKey"):
		c.Scheme = APIKey
	case strings.EqualFold(scheme, "Basic"):
		c.Scheme = Basic
	case strings.EqualFold(scheme, "Bearer"):
		c.Scheme = Bearer
	}
	return c
}

// BasicAuth is the name and password of Basic credentials.
func (c Credentials) BasicAuth() (name, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(c.Value)
	name, password, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		return "", "", domain.Unauthenticated("invalid basic authentication header")
	}
	return name, password, nil
}

func missing(path string) error {
	return domain.Unauthenticated("missing authentication credentials for REST request [%s]", path)
}

func unsupported(scheme string) error {
	return domain.Unauthenticated("unsupported authentication scheme [%s]", scheme)
}
