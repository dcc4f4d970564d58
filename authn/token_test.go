package authn

import (
	"testing"
	"time"
)

// TestAnAuthenticatorWithoutTheSharedSecretSignsWithAKeyOfItsOwn: an
// Authenticator built without the shared secret (as the api fuzz tests
// build their server) signs access tokens with a random key of its own, so
// that a token signed with an empty key, which anyone could make, is
// refused.
func TestAnAuthenticatorWithoutTheSharedSecretSignsWithAKeyOfItsOwn(t *testing.T) {
	fuzzNow := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return fuzzNow }})
	tok := Token{Project: "p1", User: "ann", Expires: fuzzNow.Add(time.Hour).Unix()}
	emptyKey := func(body string) []byte { return hmacSHA256(nil, body) }
	if _, ok := s.ParseToken(tokenPrefix + seal(tok, emptyKey)); ok {
		t.Fatal("a token signed with an empty key was accepted")
	}
	if got, ok := s.ParseToken(s.sign(tok)); !ok || got != tok {
		t.Fatalf("the server's own token: %+v %v", got, ok)
	}
}
