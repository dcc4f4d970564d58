package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// filledIndex holds n keys; it returns one valid credential.
func filledIndex(tb testing.TB, n int) (*AuthIndex, domain.KeyID, domain.Secret) {
	tb.Helper()
	a := NewAuthIndex()
	exp := time.Now().Add(24 * time.Hour)
	var id domain.KeyID
	var secret domain.Secret
	for i := 0; i < n; i++ {
		id, secret = commands.Random{}.KeyID(), commands.Random{}.Secret()
		ev := domain.NewEvent(fmt.Sprint(i), "t", domain.AggKey, string(id), domain.Meta{Time: time.Now()},
			domain.KeyCreated{KeyID: id, Name: "k", Scope: domain.ScopeOrg, Type: domain.KeyPersonal,
				Hash: domain.HashSecret([]byte(secret)).String(), Expires: &exp})
		if err := a.Apply(ev); err != nil {
			tb.Fatal(err)
		}
	}
	return a, id, secret
}

func TestVerifyVerdicts(t *testing.T) {
	a, id, secret := filledIndex(t, 3)
	now := time.Now()
	for _, tt := range []struct {
		name       string
		id, secret string
		at         time.Time
		want       Verdict
	}{
		{"valid", string(id), string(secret), now, Valid},
		{"wrong secret", string(id), "nope", now, WrongSecret},
		{"unknown id", "nope", string(secret), now, UnknownKey},
		{"expired", string(id), string(secret), now.Add(48 * time.Hour), Expired},
	} {
		if got := a.Verify([]byte(tt.id), []byte(tt.secret), tt.at); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	_ = a.Apply(domain.NewEvent("x", "t", domain.AggKey, string(id), domain.Meta{}, domain.KeyInvalidated{}))
	if got := a.Verify([]byte(id), []byte(secret), now); got != Invalidated {
		t.Errorf("after revoke: %v", got)
	}
}

// BenchmarkVerify: one credential check against an index of 100,000 keys.
func BenchmarkVerify(b *testing.B) {
	a, id, secret := filledIndex(b, 100_000)
	idb, sb := []byte(id), []byte(secret)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if a.Verify(idb, sb, now) != Valid {
			b.Fatal("not valid")
		}
	}
}

// BenchmarkVerifyParallel is the same on every core.
func BenchmarkVerifyParallel(b *testing.B) {
	a, id, secret := filledIndex(b, 100_000)
	idb, sb := []byte(id), []byte(secret)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if a.Verify(idb, sb, now) != Valid {
				b.Fatal("not valid")
			}
		}
	})
}

// BenchmarkVerifyWithAQuarantine is BenchmarkVerify on a replica that has
// quarantined another key: each check then also looks the key up among the
// quarantined ones (Quarantine.RefusesKeyID).
func BenchmarkVerifyWithAQuarantine(b *testing.B) {
	a, id, secret := filledIndex(b, 100_000)
	a.table.Quarantine().add(Poisoned{Seq: 1, Subject: "kp.t.key.other"}, eventlog.Undecodable(1, "kp.t.key.other", ""))
	idb, sb := []byte(id), []byte(secret)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if a.Verify(idb, sb, now) != Valid {
			b.Fatal("not valid")
		}
	}
}

// BenchmarkVerifyNotingUsage is BenchmarkVerifyParallel with usage
// tracking on and off in alternate sub-benchmarks (usage-on, usage-off):
// noting a use is one atomic load, and a store once a second per key.
func BenchmarkVerifyNotingUsage(b *testing.B) {
	a, id, secret := filledIndex(b, 100_000)
	u := NewUsage(a.table)
	idb, sb := []byte(id), []byte(secret)
	for range 3 {
		for _, on := range []bool{true, false} {
			name := "usage-off"
			if on {
				name = "usage-on"
				a.NoteUsage(u)
			} else {
				a.NoteUsage(nil)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if a.Verify(idb, sb, time.Now()) != Valid {
							b.Error("not valid")
							return
						}
					}
				})
			})
		}
	}
}
