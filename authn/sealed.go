package authn

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Console session cookies (session.go) and access tokens (token.go) are
// both sealed claims: base64url JSON, ".", the base64url MAC of the first
// part. Each has its own MAC; nothing of either is stored.

// maxSealed bounds what unseal reads: claims are well under it.
const maxSealed = 1024

var b64 = base64.RawURLEncoding

// hmacSHA256 is the HMAC-SHA256 of parts, one after the other, under key:
// the keys derived from the shared secret and the MACs made with them.
func hmacSHA256(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// seal encodes v's claims and signs them with mac.
func seal(v any, mac func(body string) []byte) string {
	raw, _ := json.Marshal(v)
	body := b64.EncodeToString(raw)
	return body + "." + b64.EncodeToString(mac(body))
}

// unseal reads into v the claims seal wrote with the same mac. It reports
// false for a value that is too long, not signed by mac, or not v's JSON.
func unseal(value string, mac func(body string) []byte, v any) bool {
	body, sig, ok := strings.Cut(value, ".")
	if !ok || len(value) > maxSealed {
		return false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(body)) {
		return false
	}
	raw, err := b64.DecodeString(body)
	return err == nil && json.Unmarshal(raw, v) == nil
}
