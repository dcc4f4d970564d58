package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// SecretLen is the length of a key's secret: 22 URL-safe characters carry
// 132 bits, so a plain SHA-256 is the right hash (slow hashes are for
// passwords people choose).
const SecretLen = 22

// Secret is a key's secret as shown once in the create response.
type Secret string

// SecretHash is the SHA-256 of a secret; the only form that is stored.
type SecretHash [32]byte

// SecretFrom formats 17 random bytes as a secret of SecretLen URL-safe
// characters. The bytes come from the caller (commands' id source) because
// domain draws no randomness itself.
func SecretFrom(b [17]byte) Secret {
	return Secret(base64.RawURLEncoding.EncodeToString(b[:])[:SecretLen])
}

// DeriveSecret computes the secret of a key created with an idempotency key:
// HMAC(serverKey, tenant|idempotency key|key id). A retried create can then
// answer the same secret again without it ever being stored anywhere.
func DeriveSecret(serverKey []byte, tenant TenantID, idemKey string, id KeyID) Secret {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte(tenant))
	m.Write([]byte{0})
	m.Write([]byte(idemKey))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return Secret(base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:SecretLen])
}

// HashSecret hashes a secret for storage and comparison.
func HashSecret(s []byte) SecretHash { return sha256.Sum256(s) }

// Equal compares two hashes in constant time.
func (h SecretHash) Equal(o SecretHash) bool {
	return subtle.ConstantTimeCompare(h[:], o[:]) == 1
}

// String is the hex form used in events.
func (h SecretHash) String() string { return hex.EncodeToString(h[:]) }

// ParseSecretHash reads the hex form.
func ParseSecretHash(s string) (SecretHash, error) {
	var h SecretHash
	if len(s) != hex.EncodedLen(len(h)) {
		return h, Invalid("bad secret hash")
	}
	if _, err := hex.AppendDecode(h[:0], []byte(s)); err != nil {
		return SecretHash{}, Invalid("bad secret hash")
	}
	return h, nil
}

// Encode returns base64(id:secret), the credential clients send.
func Encode(id KeyID, s Secret) string {
	return base64.StdEncoding.EncodeToString([]byte(string(id) + ":" + string(s)))
}

// ParseAPIKeyCredential decodes the credential of an "ApiKey" Authorization
// header into id and secret, writing into buf so that the hot path does not
// allocate. It accepts standard and URL-safe base64, padded or not.
func ParseAPIKeyCredential(cred string, buf []byte) (id, secret []byte, err error) {
	// Bounded before the scan below: a length that is a multiple of 4 is
	// decoded padded, any other unpadded, and either decodes to at most
	// RawStdEncoding.DecodedLen bytes (343 characters: 257, not the 255 of
	// StdEncoding.DecodedLen, which let Decode write past buf).
	if len(cred) == 0 || base64.RawStdEncoding.DecodedLen(len(cred)) > len(buf) {
		return nil, nil, Unauthenticated("invalid ApiKey credential")
	}
	enc := base64.StdEncoding
	for i := 0; i < len(cred); i++ {
		if cred[i] == '-' || cred[i] == '_' {
			enc = base64.URLEncoding
			break
		}
	}
	if len(cred)%4 != 0 {
		if enc == base64.StdEncoding {
			enc = base64.RawStdEncoding
		} else {
			enc = base64.RawURLEncoding
		}
	}
	// The conversion does not copy: the compiler sees that Decode only reads
	// it (TestParseAPIKeyCredentialDoesNotAllocate).
	m, derr := enc.Decode(buf, []byte(cred))
	if derr != nil {
		return nil, nil, Unauthenticated("invalid ApiKey credential: not base64")
	}
	b := buf[:m]
	for i := 0; i < len(b); i++ {
		if b[i] == ':' {
			if i == 0 || i == len(b)-1 {
				break
			}
			return b[:i], b[i+1:], nil
		}
	}
	return nil, nil, Unauthenticated("invalid ApiKey credential: expected base64(id:api_key)")
}
