package eventcodec

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// storedEvents are events as keyplane writes them, plus the golden ones in
// testdata/events (every released version of those event types).
func storedEvents(t testing.TB) [][]byte {
	exp := time.Date(2027, 3, 1, 12, 30, 0, 500, time.UTC)
	meta := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "u1", Name: "Ann"}, Source: domain.Source{Addr: "10.0.0.1", UserAgent: "curl/8"},
		CorrelationID: "c1", Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	md := map[string]any{"team": "infra", "n": 1.5, "tags": []any{"a", true, nil}, "nested": map[string]any{"x": []any{}}}
	rds, err := domain.ParseRoleDescriptors([]byte(`{"r":{"cluster":["all"],"indices":[{"names":"logs-*","privileges":["read"]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	rdsCopy := rds
	payloads := []domain.Payload{
		domain.KeyCreated{KeyID: "k1", Name: "deploy", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "u1", Realm: domain.RealmMembers},
			Hash: "sha256:00", Expires: &exp, RoleDescriptors: domain.RoleDescriptors{}, Metadata: md},
		domain.KeyCreated{KeyID: "k2", Name: "ünïcode \"quoted\"\n", Scope: domain.ScopeProject, Project: "p1", Type: domain.KeyManaged,
			Owner: domain.Owner{User: "svc", Realm: domain.RealmProject, ByKey: "k1"}, Hash: "h", RoleDescriptors: rds, LimitedBy: []domain.RoleDescriptors{rds}},
		domain.KeyCreated{KeyID: "k3", Name: "deploy", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "u1", Realm: domain.RealmMembers},
			Hash: "h", RoleDescriptors: domain.RoleDescriptors{}, Metadata: md, RotatedFrom: "k1"},
		domain.KeyUpdated{Metadata: &md, RoleDescriptors: &rdsCopy, Expires: &exp, NeverExpires: true},
		domain.KeyUpdated{},
		domain.KeyInvalidated{Reason: "rotated"},
		domain.KeyInvalidated{},
		domain.KeyRotated{RotatedTo: "k3", Expires: exp},
		domain.OrgCreated{OrgID: "o1", Name: "acme", Owner: "u1"},
	}
	var out [][]byte
	for i, p := range payloads {
		m := meta
		if i%2 == 1 {
			m.Actor = domain.Actor{Kind: domain.ActorKey, ID: "k9", User: "u1", Realm: domain.RealmProject}
			m.Source, m.CorrelationID = domain.Source{}, ""
		}
		b, err := json.Marshal(domain.NewEvent("e1", "org1", domain.AggKey, "k1", m, p))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	golden, err := os.ReadDir("../domain/testdata/events")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range golden {
		b, err := os.ReadFile("../domain/testdata/events/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// sameAsEncodingJSON fails t unless DecodeEvent, d.Event and Decode give,
// for b, exactly what encoding/json gives: the same event, the same
// payload, or an error where it fails.
func sameAsEncodingJSON(t *testing.T, d *Decoder, b []byte) {
	t.Helper()
	var want domain.Event
	wantErr := json.Unmarshal(b, &want)
	got, err := DecodeEvent(b)
	withPayload, derr := d.Event(b)
	if (err != nil) != (wantErr != nil) || (derr != nil) != (wantErr != nil) {
		t.Fatalf("%s: DecodeEvent error %v, Decoder %v, encoding/json %v", b, err, derr, wantErr)
	}
	if err != nil {
		return
	}
	gotP, err := got.Decode()
	got = got.WithPayload(nil)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", b, got, want)
	}
	dP, derr := withPayload.Decode()
	withPayload = withPayload.WithPayload(nil)
	if !reflect.DeepEqual(withPayload, want) {
		t.Fatalf("%s: Decoder\n got %#v\nwant %#v", b, withPayload, want)
	}
	// encoding/json's reading of the payload: domain's, with none held.
	wantP, wantErr := got.Decode()
	if unknown := new(domain.Error); errors.As(wantErr, &unknown) && unknown.Kind == domain.KindInternal { // an unknown type or version
		if err == nil || derr == nil {
			t.Fatalf("%s: an unknown event decodes", b)
		}
		return
	}
	if (err != nil) != (wantErr != nil) || (derr != nil) != (wantErr != nil) {
		t.Fatalf("%s: payload error %v, Decoder %v, encoding/json %v", got.Data, err, derr, wantErr)
	}
	if !reflect.DeepEqual(gotP, wantP) || !reflect.DeepEqual(dP, wantP) {
		t.Fatalf("%s: payload\n got %#v\nDecoder %#v\nwant %#v", got.Data, gotP, dP, wantP)
	}
}

func TestDecodeEventGivesWhatEncodingJSONGives(t *testing.T) {
	var d Decoder // one for all: what it shares must not leak between events
	for _, b := range storedEvents(t) {
		sameAsEncodingJSON(t, &d, b)
	}
	for _, s := range []string{
		// Shapes the fast reader leaves to encoding/json.
		`{"ID":"e","type":"KeyInvalidated","v":1,"data":{}}`,
		`{"id":"e","type":"KeyInvalidated","v":1,"extra":[1,{"a":"b"}],"data":{}}`,
		`{"id":"e","id":"f","type":"KeyInvalidated","v":1,"data":{}}`,
		`{"id":null,"type":"KeyInvalidated","v":1,"data":{"reason":null}}`,
		`{"\u0069d":"e","type":"KeyInvalidated","v":1,"data":{"Reason":"x"}}`,
		`{"id":"e\ud800","tenant":"\u00e9","v":1.0,"data":null}`,
		`{"id":"e","v":1e2,"time":"2026-01-01T00:00:00+02:00","data":{"r":"\xff"}}`,
		"{\"id\":\"\xff\xfe\",\"type\":\"KeyCreated\",\"v\":1,\"data\":{\"metadata\":{\"a\":1e400}}}",
		` { "id" : "e" , "type" : "KeyCreated" , "v" : 1 , "data" : { "metadata" : { } , "expires" : null } } `,
		`{"type":"KeyUpdated","v":2,"data":{"metadata":null,"never_expires":false,"expires":"2026-01-01T00:00:00Z"}}`,
		`{"type":"KeyUpdated","v":1,"data":{"metadata":{"a":[]}}}`,
		// Not JSON, or not an event: errors either way.
		``, `{`, `{"id":"e"`, `{"id":"e",}`, `{"id":"e"}x`, `[]`, `{"v":"1"}`, `{"time":"yesterday"}`,
		`{"data":{"a":01}}`, `{"data":{"a":"\x01"}}`, `{"data":[1,]}`, `{"data":tru}`, `{"data":"\u12"}`,
		`{"type":"KeyCreated","v":1,"data":{"expires":"soon"}}`,
	} {
		sameAsEncodingJSON(t, &d, []byte(s))
	}
}

func TestADecodersTablesAreBounded(t *testing.T) {
	for _, c := range []struct {
		name  string
		max   int
		event func(i int) domain.Event
		size  func(d *Decoder) int
	}{
		{"strings", maxShared, func(i int) domain.Event {
			return domain.NewEvent("e", domain.TenantID("org"+strconv.Itoa(i)), domain.AggKey, "k", domain.Meta{}, domain.KeyInvalidated{})
		}, func(d *Decoder) int { return len(d.strs) }},
		{"metadata", maxSharedMetadata, func(i int) domain.Event {
			return domain.NewEvent("e", "org", domain.AggKey, "k", domain.Meta{}, domain.KeyCreated{KeyID: "k", Metadata: map[string]any{"n": float64(i)}})
		}, func(d *Decoder) int { return len(d.metas) }},
		{"limited_by", maxSharedMetadata, func(i int) domain.Event {
			return domain.NewEvent("e", "org", domain.AggKey, "k", domain.Meta{}, domain.KeyCreated{KeyID: "k",
				LimitedBy: []domain.RoleDescriptors{{"r" + strconv.Itoa(i): {}}}})
		}, func(d *Decoder) int { return len(d.limits) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d Decoder
			for i := range 3 * c.max {
				ev := c.event(i)
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Event(b)
				if err != nil || got.Tenant != ev.Tenant {
					t.Fatalf("event %d: %v, tenant %q", i, err, got.Tenant)
				}
				if n := c.size(&d); n > c.max {
					t.Fatalf("%d values shared after %d events", n, i+1)
				}
			}
		})
	}
}

// roundTrip encodes p as a key's event and decodes its payload back, through
// d or, when d is nil, without a Decoder.
func roundTrip(t *testing.T, d *Decoder, p domain.Payload) domain.Payload {
	t.Helper()
	b, err := json.Marshal(domain.NewEvent("e", "org", domain.AggKey, "k", domain.Meta{}, p))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := DecodeEvent(b)
	if d != nil {
		ev, err = d.Event(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := ev.Decode()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestADecoderSharesMetadataSpeltAlike: keys whose metadata is the same
// JSON hold one map; other metadata, or the same read without a Decoder,
// gets its own.
func TestADecoderSharesMetadataSpeltAlike(t *testing.T) {
	decode := func(d *Decoder, md map[string]any) map[string]any {
		t.Helper()
		got := roundTrip(t, d, domain.KeyCreated{KeyID: "k", Metadata: md}).(domain.KeyCreated).Metadata
		if !reflect.DeepEqual(got, md) {
			t.Fatalf("metadata %v, want %v", got, md)
		}
		return got
	}
	same := func(a, b map[string]any) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	var d Decoder
	team := map[string]any{"team": "infra", "tags": []any{"a"}}
	first := decode(&d, team)
	if !same(first, decode(&d, map[string]any{"team": "infra", "tags": []any{"a"}})) {
		t.Error("the same metadata twice gave two maps")
	}
	if same(first, decode(&d, map[string]any{"team": "web"})) {
		t.Error("other metadata gave the first map")
	}
	if same(decode(nil, team), decode(nil, team)) {
		t.Error("decoding without a Decoder shared a map")
	}
}

func TestTheCommonEventsDecodeWithoutEncodingJSON(t *testing.T) {
	for _, b := range storedEvents(t)[:6] {
		var ev domain.Event
		var p domain.Payload
		r := jsonReader{b: b}
		if r.envelope(&ev, &p); !r.end() {
			t.Fatalf("envelope left to encoding/json: %s", b)
		}
		if _, ok := decodeFast(decoderKey{ev.Type, ev.Version}, ev.Data, nil, ""); !ok {
			t.Fatalf("payload left to encoding/json: %s", ev.Data)
		}
		if _, both, err := envelope(b, nil, true); err != nil || both == nil {
			t.Fatalf("payload not decoded along with the envelope: %s", b)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, b := range storedEvents(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		sameAsEncodingJSON(t, &d, b)
	})
}

// BenchmarkDecodeEvent decodes a key creation shaped like most of a
// replay's (app's keyHistory), envelope and payload.
func BenchmarkDecodeEvent(b *testing.B) {
	exp := time.Now().Add(90 * 24 * time.Hour)
	m := domain.Meta{Actor: domain.Actor{Kind: domain.ActorUser, ID: "owner7", Name: "owner7"}, Source: domain.Source{Addr: "10.1.2.7", UserAgent: "terraform/1.9"},
		CorrelationID: "0b0c4a1e-5f2a-4c47-9a43-7a0d2b1f9e11", Time: time.Now()}
	id := domain.KeyIDFrom([15]byte{0x5a, 0x1e, 0x3b, 0x90, 0x07, 0xc4, 0x2d, 0xe8, 0x61, 0xaf, 0x13, 0x7c, 0xb2, 0x48, 0x9d})
	data, err := json.Marshal(domain.NewEvent("6f1c3a52-8a4b-4d7e-b0a1-3c2d9e8f7a65", domain.TenantID("3f2a8c1e-6b7d-4e59-a0c4-9d8e7f6a5b43"), domain.AggKey, string(id), m, domain.KeyCreated{KeyID: id,
		Name: "deploy-7", Scope: domain.ScopeOrg, Type: domain.KeyPersonal, Owner: domain.Owner{User: "owner7", Realm: "native"},
		Hash: domain.HashSecret([]byte(id)).String(), Expires: &exp, RoleDescriptors: domain.RoleDescriptors{}, Metadata: map[string]any{"team": "infra"}}))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		var d Decoder
		for b.Loop() {
			ev, err := d.Event(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ev.Decode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var ev domain.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				b.Fatal(err)
			}
			if _, err := ev.Decode(); err != nil { // domain's, with encoding/json
				b.Fatal(err)
			}
		}
	})
}

func TestPlainRunStopsAtTheFirstByteAStringCannotHoldAsIs(t *testing.T) {
	for c := range 256 {
		for at := range 20 {
			b := []byte("abcdefghijklmnopqrstu")
			b[at] = byte(c)
			want := 0
			for want < len(b) && plainByte[b[want]] {
				want++
			}
			if got := plainRun(b, 0); got != want {
				t.Fatalf("byte %#x at %d: stopped at %d, want %d", c, at, got, want)
			}
		}
	}
}

// TestEveryGoldenEventDecodes: every released event version, esrealm's
// (registered with domain from its package, which this test binary links)
// among them, decodes to a payload; the test above would also accept an
// unknown event, refused alike by both readers.
func TestEveryGoldenEventDecodes(t *testing.T) {
	files, err := os.ReadDir("../domain/testdata/events")
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	for _, f := range files {
		b, err := os.ReadFile("../domain/testdata/events/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		ev, err := d.Event(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if p, err := ev.Decode(); err != nil || p.EventType() != ev.Type {
			t.Errorf("%s: payload %v, %v", f.Name(), p, err)
		}
	}
}

// TestADecoderSharesRoleDescriptorsSpeltAlike: keys created by one user
// through Elasticsearch's API carry the same limited_by (and often the same
// role descriptors); a Decoder gives them one decoded copy, other
// descriptors their own, and without a Decoder nothing is shared. An
// update's limited_by shares the creation's.
func TestADecoderSharesRoleDescriptorsSpeltAlike(t *testing.T) {
	rds := func(cluster string) domain.RoleDescriptors {
		return domain.RoleDescriptors{"r": {Cluster: domain.StringList{cluster}, Indices: []domain.IndexPrivileges{{Names: domain.StringList{"logs-*"}, Privileges: domain.StringList{"read"}}}}}
	}
	created := func(d *Decoder, own, limit string) domain.KeyCreated {
		t.Helper()
		p := roundTrip(t, d, domain.KeyCreated{KeyID: "k", RoleDescriptors: rds(own), LimitedBy: []domain.RoleDescriptors{rds(limit)}}).(domain.KeyCreated)
		if jsonOf(t, p.LimitedBy) != jsonOf(t, []domain.RoleDescriptors{rds(limit)}) || jsonOf(t, p.RoleDescriptors) != jsonOf(t, rds(own)) {
			t.Fatalf("decoded %+v %+v", p.RoleDescriptors, p.LimitedBy)
		}
		return p
	}
	sameMap := func(a, b domain.RoleDescriptors) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	sameList := func(a, b []domain.RoleDescriptors) bool { return &a[0] == &b[0] }
	var d Decoder
	first := created(&d, "monitor", "all")
	second := created(&d, "monitor", "all")
	if !sameList(first.LimitedBy, second.LimitedBy) || !sameMap(first.RoleDescriptors, second.RoleDescriptors) {
		t.Error("the same descriptors twice were decoded twice")
	}
	other := created(&d, "manage", "manage")
	if sameList(first.LimitedBy, other.LimitedBy) || sameMap(first.RoleDescriptors, other.RoleDescriptors) {
		t.Error("other descriptors gave the first ones")
	}
	lb := []domain.RoleDescriptors{rds("all")}
	up := roundTrip(t, &d, domain.KeyUpdated{LimitedBy: &lb}).(domain.KeyUpdated)
	if up.LimitedBy == nil || !sameList(*up.LimitedBy, first.LimitedBy) {
		t.Error("an update's limited_by was not the creation's")
	}
	if none := roundTrip(t, &d, domain.KeyUpdated{}).(domain.KeyUpdated); none.LimitedBy != nil || none.RoleDescriptors != nil {
		t.Errorf("an update without descriptors decoded %v %v", none.LimitedBy, none.RoleDescriptors)
	}
	if a, b := created(nil, "monitor", "all"), created(nil, "monitor", "all"); sameList(a.LimitedBy, b.LimitedBy) || sameMap(a.RoleDescriptors, b.RoleDescriptors) {
		t.Error("decoding without a Decoder shared descriptors")
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
