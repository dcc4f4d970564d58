package eventlog

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
)

func TestSubjectsNameAndSplitAnAggregate(t *testing.T) {
	tests := []struct {
		subject         string
		tenant, typ, id string
		ok              bool
	}{
		{"kp.o1.key.k1", "o1", domain.AggKey, "k1", true},
		{"kp._sys.user.626f62", "_sys", domain.AggUser, "626f62", true},
		{"kp.o1.notice.k1-7d-1767225600", "o1", domain.AggNotice, "k1-7d-1767225600", true},
		{"kp.o1.key.a.b", "o1", domain.AggKey, "a.b", true}, // the id is the rest
		{"kp.o1.key", "", "", "", false},
		{"xx.o1.key.k1", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			tenant, typ, id, ok := ParseSubject(tt.subject)
			if ok != tt.ok || string(tenant) != tt.tenant || typ != tt.typ || id != tt.id {
				t.Fatalf("ParseSubject = %q %q %q %v, want %q %q %q %v", tenant, typ, id, ok, tt.tenant, tt.typ, tt.id, tt.ok)
			}
			if ok && Subject(domain.Event{Tenant: tenant, AggType: typ, AggID: id}) != tt.subject {
				t.Fatalf("Subject does not give %q back", tt.subject)
			}
		})
	}
}
