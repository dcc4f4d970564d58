package authn

import (
	"strings"
	"testing"
	"time"
)

func TestSessionCookieIsCheckedWhole(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	root := []byte("a shared secret every replica reads from the log")
	ss := newSessions(root)
	c, value := ss.issue("alice", "fp", now)
	body, sig, _ := strings.Cut(value, ".")
	_, otherValue := newSessions([]byte("another deployment's secret")).issue("alice", "fp", now)
	_, bobValue := ss.issue("bob", "fp", now)
	bobBody, _, _ := strings.Cut(bobValue, ".")

	tests := []struct {
		name  string
		value string
		at    time.Time
		ok    bool
	}{
		{"fresh", value, now, true},
		{"just before expiry", value, now.Add(SessionLifetime - time.Second), true},
		{"expired", value, now.Add(SessionLifetime), false},
		{"another replica with the same secret", value, now, true},
		{"signed with another secret", otherValue, now, false},
		{"claims swapped under a valid signature", bobBody + "." + sig, now, false},
		{"signature cut", body + "." + sig[:10], now, false},
		{"no signature", body, now, false},
		{"empty", "", now, false},
		{"just a dot", ".", now, false},
		{"not base64", "!!!.???", now, false},
		{"huge", strings.Repeat("a", 5000) + "." + sig, now, false},
	}
	replica := newSessions(root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := ss.check
			if strings.HasPrefix(tt.name, "another replica") {
				check = replica.check
			}
			got, ok := check(tt.value, tt.at)
			if ok != tt.ok {
				t.Fatalf("check = %v, want %v", ok, tt.ok)
			}
			if ok && got != c {
				t.Fatalf("claims %+v, want %+v", got, c)
			}
		})
	}
}

func TestLogoutRevokesOnlyThatSession(t *testing.T) {
	now := time.Now()
	ss := newSessions(nil)
	a, av := ss.issue("alice", "fp", now)
	_, bv := ss.issue("alice", "fp", now)
	ss.revoke(a, now)
	if _, ok := ss.check(av, now); ok {
		t.Fatal("a revoked session is accepted")
	}
	if _, ok := ss.check(bv, now); !ok {
		t.Fatal("logging out one session ended another")
	}
	// Revocations of sessions that have expired anyway are forgotten.
	later := now.Add(SessionLifetime + time.Minute)
	c, _ := ss.issue("alice", "fp", later)
	ss.revoke(c, later)
	if len(ss.revoked) != 1 {
		t.Fatalf("%d revocations kept, want 1", len(ss.revoked))
	}
}

func TestCSRFTokenBelongsToItsSession(t *testing.T) {
	ss := newSessions(nil)
	a, _ := ss.issue("alice", "fp", time.Now())
	b, _ := ss.issue("alice", "fp", time.Now())
	tok := ss.csrfToken(a)
	tests := []struct {
		name  string
		c     Session
		token string
		ok    bool
	}{
		{"its own token", a, tok, true},
		{"another session's token", b, tok, false},
		{"empty", a, "", false},
		{"truncated", a, tok[:len(tok)-2], false},
		{"not base64", a, "%%%", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ss.csrfValid(tt.c, tt.token); got != tt.ok {
				t.Fatalf("csrfValid = %v, want %v", got, tt.ok)
			}
		})
	}
}
