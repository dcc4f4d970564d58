package projections

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestAUseIsPendingUntilWrittenAndAgainOnlyInALaterHour(t *testing.T) {
	a, id, secret := filledIndex(t, 3)
	u := NewUsage(a.table)
	a.NoteUsage(u)
	t0 := time.Now().Add(time.Hour).Truncate(time.Hour).Add(5 * time.Minute) // keys expire in a day
	use := func(at time.Time) {
		if v := a.Verify([]byte(id), []byte(secret), at); v != Valid {
			t.Fatalf("verdict %v", v)
		}
	}
	pending := func() []Use { return u.Pending() }
	if p := pending(); len(p) != 0 {
		t.Fatalf("pending before any use: %v", p)
	}
	use(t0)
	p := pending()
	if len(p) != 1 || p[0].Key != id || !p[0].At.Equal(t0.Truncate(time.Second)) {
		t.Fatalf("pending after a use: %+v", p)
	}
	u.Written(p[0])
	use(t0.Add(30 * time.Minute))
	if p := pending(); len(p) != 0 {
		t.Fatalf("a use in the hour already written is pending: %+v", p)
	}
	use(t0.Add(time.Hour))
	if p := pending(); len(p) != 1 || !p[0].At.Equal(t0.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("a use in the next hour: %+v", p)
	}
	if bad := a.Verify([]byte(id), []byte("wrong"), t0.Add(2*time.Hour)); bad != WrongSecret {
		t.Fatal(bad)
	}
	if p := pending(); p[0].At.After(t0.Add(time.Hour)) {
		t.Fatal("a failed verification was noted as a use")
	}
}

func TestUsageRecordsOfAKeyOfAnotherTenantOrNoKeyChangeNothing(t *testing.T) {
	ks := NewKeys()
	created := domain.NewEvent("e1", "t1", domain.AggKey, "k1", domain.Meta{Time: time.Now()},
		domain.KeyCreated{KeyID: "k1", Name: "n", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Hash: hashHex})
	created.Seq = 1
	if err := ks.Apply(created); err != nil {
		t.Fatal(err)
	}
	used := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for i, ev := range []domain.Event{
		domain.NewEvent("e2", "t2", domain.AggKeyUse, "k1", domain.Meta{}, domain.KeyUsed{KeyID: "k1", Used: used}),
		domain.NewEvent("e3", "t1", domain.AggKeyUse, "k9", domain.Meta{}, domain.KeyUsed{KeyID: "k9", Used: used}),
	} {
		ev.Seq = uint64(i + 2)
		if err := ks.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if k, _ := ks.Get("t1", "k1"); !k.LastUsed.IsZero() || ks.Len() != 1 {
		t.Fatalf("last used %v, %d keys", k.LastUsed, ks.Len())
	}
}
