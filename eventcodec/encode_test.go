package eventcodec

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

// fuzzPayload makes a payload of one of the kinds whose content callers
// choose (names, metadata, role descriptors), from the fuzzer's values:
// raw is decoded as metadata (wrapped wrap levels deeper) or as role
// descriptors. ok is false when raw is neither.
func fuzzPayload(kind uint8, s string, raw []byte, wrap uint16) (domain.Payload, bool) {
	var meta map[string]any
	var rds domain.RoleDescriptors
	if json.Unmarshal(raw, &meta) != nil && json.Unmarshal(raw, &rds) != nil {
		return nil, false
	}
	for range int(wrap) % 10050 {
		meta = map[string]any{s: meta}
	}
	// As the decisions make them: no null metadata or descriptors.
	if meta == nil {
		meta = map[string]any{}
	}
	if rds == nil {
		rds = domain.RoleDescriptors{}
	}
	switch kind % 5 {
	case 0:
		kc := domain.KeyCreated{KeyID: domain.KeyID(s), Name: s, Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: s, Realm: s},
			Hash: s, RoleDescriptors: rds, Metadata: meta}
		if kind%2 == 1 { // a rotation's successor
			kc.RotatedFrom = domain.KeyID(s)
		}
		if kind%4 == 2 { // a cross-cluster key: KeyCreated v2, read by encoding/json
			kc.Type = domain.KeyCrossCluster
		}
		return kc, true
	case 1:
		return domain.KeyUpdated{RoleDescriptors: &rds, Metadata: &meta}, true
	case 2:
		return esrealm.RealmUserPut{Name: s, FullName: s, Roles: []string{s}, Metadata: meta}, true
	case 3:
		rd := rds[s]
		rd.Metadata = meta
		return esrealm.RealmRolePut{Name: s, Role: rd}, true
	}
	return domain.OrgCreated{OrgID: domain.TenantID(s), Name: s, Owner: s}, true
}

// FuzzEventRoundTrip holds the writer and the readers together: a payload
// of arbitrary content, encoded as the log's writer encodes it
// (EncodeEvent), is either refused by the writer as invalid or too large,
// or read back by both readers (a replay's Decoder, and DecodeEvent with
// Decode) to the payload encoding/json reads from it.
func FuzzEventRoundTrip(f *testing.F) {
	f.Add(uint8(0), "deploy", []byte(`{"team":{"tier":[1,"x",null,true,2.5]}}`), uint16(0))
	f.Add(uint8(1), "r", []byte(`{"r":{"cluster":["all"],"indices":[{"names":["a*"],"privileges":["read"],"query":{"a":[{}]}}]}}`), uint16(3))
	f.Add(uint8(2), "\u202e\u0085", []byte(`{"a":"\u2028"}`), uint16(25))
	f.Add(uint8(3), "r", []byte(`{}`), uint16(9999))
	f.Add(uint8(4), "o", []byte(`{}`), uint16(0))
	f.Add(uint8(5), "successor", []byte(`{}`), uint16(0))
	f.Add(uint8(10), "remote", []byte(`{"cross_cluster":{"cluster":["cross_cluster_search"],"indices":[{"names":["a*"],"privileges":["read"],"query":"{}"}]}}`), uint16(0))
	f.Add(uint8(0), "k", []byte(`{"a":"`+strings.Repeat("x", 1<<20)+`"}`), uint16(0))
	f.Fuzz(func(t *testing.T, kind uint8, s string, raw []byte, wrap uint16) {
		p, ok := fuzzPayload(kind, s, raw, wrap)
		if !ok {
			return
		}
		m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: s, Name: s}, Source: domain.Source{Addr: s, UserAgent: s}, CorrelationID: s,
			Time: time.Unix(1790000000, 0)}
		data, err := EncodeEvent(domain.NewEvent("id-"+s, domain.TenantID(s), domain.AggKey, s, m, p))
		if err != nil {
			if !domain.IsKind(err, domain.KindInvalid) && !domain.IsKind(err, domain.KindTooLarge) {
				t.Fatalf("writer refused with %v, want invalid or too large: %v", domain.KindOf(err), err)
			}
			return
		}
		// What encoding/json alone reads from the payload as written (it
		// makes invalid UTF-8 U+FFFD, for one).
		enc, _ := json.Marshal(p)
		ref, err := domain.Event{Type: p.EventType(), Version: p.EventVersion(), Data: enc}.Decode()
		if err != nil {
			t.Fatalf("written, but encoding/json cannot read its payload: %v", err)
		}
		want, _ := json.Marshal(ref)
		var d Decoder
		replayed, err := d.Event(data)
		if err != nil {
			t.Fatalf("written, but a replay cannot read it: %v", err)
		}
		single, err := DecodeEvent(data)
		if err != nil {
			t.Fatalf("written, but DecodeEvent cannot read it: %v", err)
		}
		for name, ev := range map[string]domain.Event{"replay": replayed, "single": single} {
			got, err := ev.Decode()
			if err != nil {
				t.Fatalf("written, but the %s payload does not decode: %v", name, err)
			}
			if b, _ := json.Marshal(got); string(b) != string(want) {
				t.Fatalf("%s reads back another payload:\n%.300s\nwant\n%.300s", name, b, want)
			}
		}
	})
}

// An event 9,999 levels of metadata deep (two more in the event: past
// encoding/json's 10,000) is refused as invalid; one 100 deep, past the
// fast reader's own bound but within encoding/json's, is written.
func TestEncodeEventRefusesWhatItsReadersCannotDecode(t *testing.T) {
	for _, c := range []struct {
		wrap int
		ok   bool
	}{{9999, false}, {1200, true}, {20, true}} {
		p, _ := fuzzPayload(0, "a", []byte(`{}`), uint16(c.wrap))
		_, err := EncodeEvent(domain.NewEvent("id", "t", domain.AggKey, "k", domain.Meta{}, p))
		if (err == nil) != c.ok || err != nil && !domain.IsKind(err, domain.KindInvalid) {
			t.Errorf("metadata %d levels deep: %v, want ok=%v", c.wrap, err, c.ok)
		}
	}
}

// BenchmarkEncodeEvent is what checking an append costs: a key creation
// shaped like most of a log's, encoded as before (marshal) and as now
// (marshal, then read back by both readers).
func BenchmarkEncodeEvent(b *testing.B) {
	exp := time.Now().Add(90 * 24 * time.Hour)
	m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner7", Name: "owner7"}, Source: domain.Source{Addr: "10.1.2.7", UserAgent: "terraform/1.9"},
		CorrelationID: "0b0c4a1e-5f2a-4c47-9a43-7a0d2b1f9e11", Time: time.Now()}
	id := domain.KeyIDFrom([15]byte{0x5a, 0x1e, 0x3b, 0x90, 0x07, 0xc4, 0x2d, 0xe8, 0x61, 0xaf, 0x13, 0x7c, 0xb2, 0x48, 0x9d})
	ev := domain.NewEvent("6f1c3a52-8a4b-4d7e-b0a1-3c2d9e8f7a65", domain.TenantID("3f2a8c1e-6b7d-4e59-a0c4-9d8e7f6a5b43"), domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id,
		Name: "deploy-7", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "owner7", Realm: "native"},
		Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp, RoleDescriptors: domain.RoleDescriptors{"r": {Cluster: domain.StringList{"monitor"}}},
		Metadata: map[string]any{"team": "infra", "env": map[string]any{"tier": "prod"}}})
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-checked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
