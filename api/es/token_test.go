package es_test

import (
	"testing"
)

// An access token invalidated on one request is refused from the next on,
// also after a restart; only its holder or manage_token may invalidate it.
func TestInvalidateToken(t *testing.T) {
	dir := t.TempDir()
	a := startAppIn(t, dir)
	base, owner := a.URL(), basic(ownerAuth)
	esDo(t, "PUT", base+"/_security/user/bob", owner, `{"password": "bob-password", "roles": []}`).Must(t, 200)
	bob := basic("bob:bob-password")
	token := func() string {
		tok := esDo(t, "POST", base+"/_security/oauth2/token", owner, `{"grant_type": "password", "username": "alice", "password": "alice-password"}`).Must(t, 200)
		return tok.Str("access_token")
	}
	tok, other := token(), token()
	if tok == other {
		t.Fatal("two tokens issued for one user are equal: invalidating one would end both")
	}
	esDo(t, "GET", base+"/_security/_authenticate", "Bearer "+tok, nil).Must(t, 200)

	bad := []struct {
		name, auth, body string
		status           int
	}{
		{"someone else's token without manage_token", bob, `{"token": "` + tok + `"}`, 403},
		{"not a token of this cluster", owner, `{"token": "kpt1.bm90.c2ln"}`, 404},
		{"by user name", owner, `{"username": "alice"}`, 400},
		{"a refresh token", owner, `{"refresh_token": "x"}`, 400},
		{"nothing named", owner, `{}`, 400},
		{"unknown field", owner, `{"token": "` + tok + `", "ttl": 1}`, 400},
	}
	for _, b := range bad {
		esDo(t, "DELETE", base+"/_security/oauth2/token", b.auth, b.body).Must(t, b.status)
	}
	esDo(t, "GET", base+"/_security/_authenticate", "Bearer "+tok, nil).Must(t, 200)

	inv := esDo(t, "DELETE", base+"/_security/oauth2/token", "Bearer "+tok, `{"token": "`+tok+`"}`).Must(t, 200)
	if inv.Body["invalidated_tokens"] != 1.0 || inv.Body["previously_invalidated_tokens"] != 0.0 {
		t.Fatalf("invalidate: %s", inv.Raw)
	}
	esDo(t, "GET", base+"/_security/_authenticate", "Bearer "+tok, nil).Must(t, 401)
	esDo(t, "GET", base+"/_security/_authenticate", "Bearer "+other, nil).Must(t, 200)
	again := esDo(t, "DELETE", base+"/_security/oauth2/token", owner, `{"token": "`+tok+`"}`).Must(t, 200)
	if again.Body["invalidated_tokens"] != 0.0 || again.Body["previously_invalidated_tokens"] != 1.0 {
		t.Fatalf("invalidate twice: %s", again.Raw)
	}

	a.Close()
	a = startAppIn(t, dir)
	esDo(t, "GET", a.URL()+"/_security/_authenticate", "Bearer "+tok, nil).Must(t, 401)
	esDo(t, "GET", a.URL()+"/_security/_authenticate", "Bearer "+other, nil).Must(t, 200)
}
