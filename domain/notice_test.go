package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func windows(t *testing.T, s string) []NoticeWindow {
	t.Helper()
	ws, err := ParseNoticeWindows(s)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestParseNoticeWindows(t *testing.T) {
	tests := []struct {
		in      string
		want    string // names joined by ",", longest first
		invalid bool
	}{
		{in: "30d,7d,1d", want: "30d,7d,1d"},
		{in: "1d, 30d ,7d,1d", want: "30d,7d,1d"},
		{in: "36h", want: "36h"},
		{in: "90m,2w,1M", want: "30d,14d,90m"},
		{in: "", invalid: true},
		{in: "30d,,1d", invalid: true},
		{in: "0d", invalid: true},
		{in: "-1d", invalid: true},
		{in: "30s", invalid: true},
		{in: "1.5d", invalid: true},
		{in: "never", invalid: true},
		{in: "1m,2m,3m,4m,5m,6m,7m,8m,9m,10m,11m", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ws, err := ParseNoticeWindows(tt.in)
			if tt.invalid {
				if !IsKind(err, KindInvalid) {
					t.Fatalf("err = %v, want invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, w := range ws {
				names = append(names, w.String())
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDueWindowIsTheMostUrgentOneEntered(t *testing.T) {
	ws := windows(t, "30d,7d,1d")
	exp := t0.Add(8 * day)
	tests := []struct {
		name string
		now  time.Time
		want string // "" for none
	}{
		{"more than 30 days left", exp.Add(-31 * day), ""},
		{"exactly 30 days left", exp.Add(-30 * day), "30d"},
		{"8 days left", exp.Add(-8 * day), "30d"},
		{"7 days left", exp.Add(-7 * day), "7d"},
		{"2 days left: the 30d and 7d windows are both entered", exp.Add(-2 * day), "7d"},
		{"an hour left", exp.Add(-time.Hour), "1d"},
		{"expired", exp, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := DueWindow(exp, tt.now, ws)
			got := ""
			if ok {
				got = w.String()
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNextNoticeAtFollowsTheWindowsDown(t *testing.T) {
	ws := windows(t, "30d,7d,1d")
	exp := t0.Add(60 * day)
	tests := []struct {
		noticed string
		want    time.Time
	}{
		{"", exp.Add(-30 * day)},
		{"30d", exp.Add(-7 * day)},
		{"7d", exp.Add(-day)},
		{"1d", exp},
		{"14d", exp.Add(-7 * day)}, // a window another replica was configured with
		{"12h", exp},
	}
	for _, tt := range tests {
		t.Run(tt.noticed, func(t *testing.T) {
			var noticed NoticeWindow
			if tt.noticed != "" {
				if err := noticed.UnmarshalText([]byte(tt.noticed)); err != nil {
					t.Fatal(err)
				}
			}
			if got := NextNoticeAt(exp, ws, noticed); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNoticeIdentities(t *testing.T) {
	exp := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	w := NoticeWindow(7 * day)
	id := NoticeAggID("k1_-x", w, exp)
	if id != "k1_-x-7d-1796040000" || !ValidToken(id) {
		t.Fatalf("notice id %q must be one subject token", id)
	}
	if NoticeAggID("k1", w, exp.Add(day)) == NoticeAggID("k1", w, exp) {
		t.Fatal("a new expiry must name a new notice")
	}
	a := NoticeMessageID(id, "Ops@Example.com", "example.com")
	if a != NoticeMessageID(id, "ops@example.com", "example.com") || !strings.HasSuffix(a, "@example.com") {
		t.Fatalf("message id %q must be stable per notice and address", a)
	}
	if a == NoticeMessageID(id, "carol@example.com", "example.com") {
		t.Fatal("two recipients share a message id")
	}
}

func TestNoticeRecipientsEachAddressOnce(t *testing.T) {
	got := NoticeRecipients("carol@example.com", []string{"ops@example.com", "CAROL@example.com", " ", "Ops@Example.com"})
	want := []string{"carol@example.com", "ops@example.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := NoticeRecipients("", nil); len(got) != 0 {
		t.Fatalf("no creator address and no contacts: %v", got)
	}
}

// TestNoticeEventsV1StayReadable reads the golden v1 events: a released
// version never changes meaning.
func TestNoticeEventsV1StayReadable(t *testing.T) {
	checkGolden(t, goldenNoticeEvents())
}

// goldenNoticeEvents are the released versions of the expiry notices'
// events, as testdata/events holds them.
func goldenNoticeEvents() []golden {
	exp := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return []golden{
		{"ExpiryNoticeRecorded.v1.json", ExpiryNoticeRecorded{KeyID: "k1", Window: NoticeWindow(7 * day), Expires: exp,
			Recipients: []string{"carol@example.com", "ops@example.com"}}},
		{"NoticeDelivered.v1.json", NoticeDelivered{Recipient: "ops@example.com", Attempts: 2, MessageID: "0123456789abcdef0123456789abcdef@example.com"}},
		{"NoticeFailed.v1.json", NoticeFailed{Recipient: "ops@example.com", Attempts: 12, Error: "dial tcp 127.0.0.1:25: connection refused"}},
		{"NoticeCanceled.v1.json", NoticeCanceled{Reason: "the key was revoked"}},
		{"KeyExpired.v1.json", KeyExpired{Expires: exp}},
	}
}

func TestKeyExpiredKeepsTheKeyAndMovesItsSequence(t *testing.T) {
	exp := t0.Add(day)
	created := NewEvent("e1", "org1", AggKey, "k1", Meta{Time: t0}, KeyCreated{KeyID: "k1", Name: "ci", Scope: ScopeOrg,
		Hash: HashSecret([]byte("s")).String(), Expires: &exp})
	k := fold(t, created, NewEvent("e2", "org1", AggKey, "k1", Meta{Time: exp}, KeyExpired{Expires: exp}))
	if k.Seq != 2 || k.Name != "ci" || k.Status(exp) != StatusExpired || k.Status(t0) != StatusActive {
		t.Fatalf("after KeyExpired: seq %d, name %q", k.Seq, k.Name)
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

func TestNoticeKeyIDRoundTrips(t *testing.T) {
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, id := range []KeyID{KeyIDFrom([15]byte{0xfb, 0xff, 0xbf, 7: 42}), "a-b_c-d", "plain"} {
		for _, w := range []NoticeWindow{NoticeWindow(30 * 24 * time.Hour), 0} {
			got, ok := NoticeKeyID(NoticeAggID(id, w, exp))
			if !ok || got != id {
				t.Errorf("NoticeKeyID(NoticeAggID(%q, %v)) = %q, %v", id, w, got, ok)
			}
		}
	}
	if _, ok := NoticeKeyID("nodash"); ok {
		t.Error("an id without the window and expiry must not parse")
	}
}
