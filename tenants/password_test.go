package tenants

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The hash a check for an unknown name spends its time on has the
// parameters every stored password has: the same cost, the same length
// of key. Were the parameters raised without it, unknown names would
// answer faster than known ones.
func TestTheDummyHashCostsWhatAPasswordCheckCosts(t *testing.T) {
	stored := strings.Split(HashPassword("pw"), "$")
	dummy := strings.Split(dummyHash, "$")
	if len(dummy) != 6 || dummy[1] != stored[1] || dummy[2] != stored[2] || dummy[3] != stored[3] {
		t.Fatalf("dummy hash %q, a stored one %q: want the same algorithm, version and parameters", dummyHash, strings.Join(stored, "$"))
	}
	if want := fmt.Sprintf("m=%d,t=%d,p=%d", argonMemory, argonTime, argonThreads); dummy[3] != want || dummy[2] != fmt.Sprintf("v=%d", argon2.Version) {
		t.Fatalf("dummy hash parameters %s %s, want %s", dummy[2], dummy[3], want)
	}
	if len(dummy[5]) != len(stored[5]) {
		t.Fatalf("dummy key %d characters, a stored one %d", len(dummy[5]), len(stored[5]))
	}
	// CheckPassword refuses a hash it cannot decode before it spends
	// anything: the dummy's salt and key must decode as a stored one's.
	salt, err1 := base64.RawStdEncoding.DecodeString(dummy[4])
	key, err2 := base64.RawStdEncoding.DecodeString(dummy[5])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != argonKeyLen {
		t.Fatalf("dummy salt %q and key %q: %v %v; want 16 and %d bytes of base64", dummy[4], dummy[5], err1, err2, argonKeyLen)
	}
	for _, pw := range []string{"", "keyplane-dummy-password", "admin"} {
		if CheckPassword(dummyHash, pw) {
			t.Fatalf("password %q matches the dummy hash", pw)
		}
	}
}
