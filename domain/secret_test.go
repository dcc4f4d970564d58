package domain

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseAPIKeyCredential(t *testing.T) {
	good := base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"))
	tests := []struct {
		name, cred, id, secret string
		ok                     bool
	}{
		{"standard", good, "VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw", true},
		{"unpadded", base64.RawStdEncoding.EncodeToString([]byte("a:bc")), "a", "bc", true},
		{"url-safe", base64.URLEncoding.EncodeToString([]byte("id>>:s??")), "id>>", "s??", true},
		{"empty", "", "", "", false},
		{"not base64", "!!!!", "", "", false},
		{"no colon", base64.StdEncoding.EncodeToString([]byte("abc")), "", "", false},
		{"empty id", base64.StdEncoding.EncodeToString([]byte(":abc")), "", "", false},
		{"empty secret", base64.StdEncoding.EncodeToString([]byte("abc:")), "", "", false},
		{"too long", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), 400)), "", "", false},
		// 255 bytes padded, but 257 unpadded: refused, not decoded past the buffer.
		{"unpadded, longer than the buffer", strings.Repeat("0", 343), "", "", false},
		{"unpadded, fills the buffer", base64.RawStdEncoding.EncodeToString(append([]byte("id:"), bytes.Repeat([]byte("s"), 253)...)), "id", strings.Repeat("s", 253), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf [256]byte
			id, secret, err := ParseAPIKeyCredential(tt.cred, buf[:])
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !IsKind(err, KindUnauthenticated) {
					t.Fatalf("want unauthenticated, got %v", err)
				}
				return
			}
			if string(id) != tt.id || string(secret) != tt.secret {
				t.Fatalf("got %q:%q", id, secret)
			}
		})
	}
}

func TestSecretsAndHashes(t *testing.T) {
	a, b := SecretFrom([17]byte{1}), SecretFrom([17]byte{2})
	if len(a) != SecretLen || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
	h := HashSecret([]byte(a))
	if !h.Equal(HashSecret([]byte(a))) || h.Equal(HashSecret([]byte(b))) {
		t.Fatal("hash comparison is wrong")
	}
	back, err := ParseSecretHash(h.String())
	if err != nil || back != h {
		t.Fatalf("hash round trip: %v", err)
	}
	k := []byte("server key")
	if DeriveSecret(k, "t", "idem", "id") != DeriveSecret(k, "t", "idem", "id") ||
		DeriveSecret(k, "t", "idem", "id") == DeriveSecret(k, "t", "idem2", "id") {
		t.Fatal("derived secrets must depend on exactly their inputs")
	}
	id, sec, _ := ParseAPIKeyCredential(Encode("abc", a), make([]byte, 256))
	if string(id) != "abc" || string(sec) != string(a) {
		t.Fatal("Encode does not round trip")
	}
}

// TestParseSecretHashRefusesWhatIsNotOne: a stored hash is 64 hex digits;
// anything else is refused, never half-read. Reading one does not
// allocate: every key's creation is read this way on a replay.
func TestParseSecretHashRefusesWhatIsNotOne(t *testing.T) {
	good := HashSecret([]byte("secret")).String()
	for _, bad := range []string{"", "zz", good[:62], good + "00", good[:62] + "zz", "\x00" + good[1:]} {
		if h, err := ParseSecretHash(bad); err == nil || h != (SecretHash{}) {
			t.Errorf("ParseSecretHash(%q) = %x, %v; want an error and no hash", bad, h, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseSecretHash(good) }); n != 0 {
		t.Errorf("%v allocations per parse, want 0", n)
	}
}

func FuzzParseAPIKeyCredential(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte("id:secret")))
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, cred string) {
		var buf [256]byte
		id, secret, err := ParseAPIKeyCredential(cred, buf[:])
		if err == nil && (len(id) == 0 || len(secret) == 0) {
			t.Fatalf("accepted %q with an empty part", cred)
		}
	})
}

// TestParseAPIKeyCredentialDoesNotAllocate guards the hot path of every
// ApiKey request: the credential is decoded without copying it first.
func TestParseAPIKeyCredentialDoesNotAllocate(t *testing.T) {
	cred := Encode("VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw")
	var buf [256]byte
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseAPIKeyCredential(cred, buf[:]) }); n != 0 {
		t.Fatalf("ParseAPIKeyCredential allocates %v times", n)
	}
}

func TestKeyIDsAndSecretsHaveTheirFormat(t *testing.T) {
	id := KeyIDFrom([15]byte{0xfb, 0xff, 0xbf, 14: 1})
	if len(id) != 20 || !ValidToken(string(id)) {
		t.Errorf("key id %q: want 20 URL-safe characters", id)
	}
	s := SecretFrom([17]byte{0xfb, 0xff, 0xbf, 16: 1})
	if len(s) != SecretLen || !ValidToken(string(s)) {
		t.Errorf("secret %q: want %d URL-safe characters", s, SecretLen)
	}
}
