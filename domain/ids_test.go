package domain

import (
	"strings"
	"testing"
)

func TestAKeyIDNeverBeginsWithADash(t *testing.T) {
	for first := range 256 {
		var b [15]byte
		b[0] = byte(first)
		id := string(KeyIDFrom(b))
		if strings.HasPrefix(id, "-") || len(id) != 20 || !ValidToken(id) {
			t.Fatalf("first byte %#x: id %q", first, id)
		}
	}
}
