package domain

import "encoding/base64"

// TenantID identifies an organization; every event and subject carries one.
type TenantID string

// ProjectID identifies a project inside an organization.
type ProjectID string

// KeyID identifies an API key. Like Elasticsearch's ids it is 20 URL-safe
// characters, so it fits in a subject token and in base64(id:secret).
type KeyID string

// SystemTenant holds aggregates that belong to no organization: users and
// the claims that keep organization names unique.
const SystemTenant TenantID = "_sys"

// KeyIDFrom formats 15 bytes as a key id: 20 URL-safe characters (120
// bits). The bytes are random; they come from the caller (commands' id
// source) because domain draws no randomness itself.
//
// An id never begins with '-' (one in 64 would): terminal clients (ecctl,
// keyplane keys) take an argument that does for an option. Such a first
// character becomes '_', which costs the id a sixty-fourth of a bit.
func KeyIDFrom(b [15]byte) KeyID {
	if b[0]>>2 == 62 { // '-' in the URL-safe alphabet
		b[0] |= 1 << 2 // 63: '_'
	}
	return KeyID(base64.RawURLEncoding.EncodeToString(b[:]))
}

// ValidToken reports whether s can stand as one subject token and one path
// segment: non-empty, at most 64 bytes, letters, digits, '-' and '_'.
func ValidToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
