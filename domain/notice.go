package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NoticeWindow is how long before a key's expiry a notice goes out. Its
// text form ("30d", "12h", "45m") names it in events and subjects.
type NoticeWindow time.Duration

// DefaultNoticeWindows are Elastic Cloud's reminders: a month, a week and a
// day before expiry.
var DefaultNoticeWindows = []NoticeWindow{NoticeWindow(30 * 24 * time.Hour), NoticeWindow(7 * 24 * time.Hour), NoticeWindow(24 * time.Hour)}

// maxNoticeWindows bounds the configured windows: each is one email per key.
const maxNoticeWindows = 10

// ParseNoticeWindow reads one window: a positive whole number of minutes,
// hours, days or weeks ("90m", "12h", "30d", "2w").
func ParseNoticeWindow(s string) (NoticeWindow, error) {
	s = strings.TrimSpace(s)
	d, ok := parseDuration(s)
	if !ok || d < time.Minute || d%time.Minute != 0 || d > MaxKeyLifetime {
		return 0, Invalid("notice window [%s] must be a whole number of minutes, hours or days, such as 30d or 12h", s)
	}
	return NoticeWindow(d), nil
}

// ParseNoticeWindows reads a comma-separated list ("30d,7d,1d") and returns
// the windows longest first, each once.
func ParseNoticeWindows(s string) ([]NoticeWindow, error) {
	var out []NoticeWindow
	seen := map[NoticeWindow]bool{}
	for _, part := range strings.Split(s, ",") {
		w, err := ParseNoticeWindow(part)
		if err != nil {
			return nil, err
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	if len(out) > maxNoticeWindows {
		return nil, Invalid("at most %d notice windows", maxNoticeWindows)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out, nil
}

// String is the window in its largest whole unit: "30d", "36h", "90m".
func (w NoticeWindow) String() string {
	d := time.Duration(w)
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// MarshalText writes the window as its name, so events read "window":"7d".
func (w NoticeWindow) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText reads a window name.
func (w *NoticeWindow) UnmarshalText(b []byte) error {
	d, ok := parseDuration(string(b))
	if !ok || d <= 0 {
		return Invalid("notice window [%s] does not parse", b)
	}
	*w = NoticeWindow(d)
	return nil
}

// DueWindow is the most urgent of windows (longest first) that a key
// expiring at exp is inside at now. A key that entered several windows
// since the last look gets only the most urgent notice: three reminders in
// one go would say nothing the last one does not.
func DueWindow(exp, now time.Time, windows []NoticeWindow) (NoticeWindow, bool) {
	left := exp.Sub(now)
	if left <= 0 {
		return 0, false
	}
	for i := len(windows) - 1; i >= 0; i-- {
		if left <= time.Duration(windows[i]) {
			return windows[i], true
		}
	}
	return 0, false
}

// NextNoticeAt is when something next falls due for a key expiring at exp:
// the start of the longest window shorter than noticed (the most urgent
// window already noticed for this expiry; 0 for none), or exp itself, when
// the expiry is to be recorded.
func NextNoticeAt(exp time.Time, windows []NoticeWindow, noticed NoticeWindow) time.Time {
	for _, w := range windows { // longest first
		if noticed == 0 || w < noticed {
			return exp.Add(-time.Duration(w))
		}
	}
	return exp
}

// NoticeAggID names the notice aggregate about key id entering window w
// for the expiry exp. The expiry is part of the name, so a key whose
// expiration is extended gets fresh notices for its new expiry, while any
// number of replicas and scans can only ever create each notice once.
func NoticeAggID(id KeyID, w NoticeWindow, exp time.Time) string {
	return string(id) + "-" + w.String() + "-" + strconv.FormatInt(exp.Unix(), 10)
}

// NoticeKeyID is the key a notice aggregate id (NoticeAggID) is about.
func NoticeKeyID(aggID string) (KeyID, bool) {
	i := strings.LastIndexByte(aggID, '-')
	if i <= 0 {
		return "", false
	}
	j := strings.LastIndexByte(aggID[:i], '-')
	if j <= 0 {
		return "", false
	}
	return KeyID(aggID[:j]), true
}

// NoticeMessageID is the stable Message-ID of the email telling recipient
// about a notice, so a resend after a crash is recognizably the same mail.
func NoticeMessageID(noticeID, recipient, domainPart string) string {
	sum := sha256.Sum256([]byte(noticeID + "\x00" + strings.ToLower(recipient)))
	return hex.EncodeToString(sum[:16]) + "@" + domainPart
}

// NoticeRecipients is the key creator's address followed by the
// organization's operational contacts, each address once whatever its case,
// empty ones dropped.
func NoticeRecipients(creator string, contacts []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, a := range append([]string{creator}, contacts...) {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	return out
}

// ExpiryNoticeRecorded v1: key KeyID entered Window before the expiry
// Expires; Recipients are to be told. It is the first event of the notice
// aggregate NoticeAggID(KeyID, Window, Expires), written create-if-absent.
type ExpiryNoticeRecorded struct {
	KeyID      KeyID        `json:"key_id"`
	Window     NoticeWindow `json:"window"`
	Expires    time.Time    `json:"expires"`
	Recipients []string     `json:"recipients"`
}

func (ExpiryNoticeRecorded) EventType() string { return "ExpiryNoticeRecorded" }
func (ExpiryNoticeRecorded) EventVersion() int { return 1 }

// NoticeDelivered v1: the mail server accepted the notice for Recipient at
// delivery attempt Attempts.
type NoticeDelivered struct {
	Recipient string `json:"recipient"`
	Attempts  int    `json:"attempts"`
	MessageID string `json:"message_id"`
}

func (NoticeDelivered) EventType() string { return "NoticeDelivered" }
func (NoticeDelivered) EventVersion() int { return 1 }

// NoticeFailed v1: the notice could not be sent to Recipient in Attempts
// attempts; nothing more will be tried. Error is the mail server's answer.
type NoticeFailed struct {
	Recipient string `json:"recipient"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error"`
}

func (NoticeFailed) EventType() string { return "NoticeFailed" }
func (NoticeFailed) EventVersion() int { return 1 }

// NoticeCanceled v1: the notice went stale before it was sent (the key was
// revoked, or its expiration changed), so nobody is told.
type NoticeCanceled struct {
	Reason string `json:"reason"`
}

func (NoticeCanceled) EventType() string { return "NoticeCanceled" }
func (NoticeCanceled) EventVersion() int { return 1 }

// KeyExpired v1: the key's expiry Expires passed. Status is derived from
// the clock anyway; the event puts the moment in the key's history and the
// audit trail.
type KeyExpired struct {
	Expires time.Time `json:"expires"`
}

func (KeyExpired) EventType() string { return "KeyExpired" }
func (KeyExpired) EventVersion() int { return 1 }

func init() {
	register(ExpiryNoticeRecorded{})
	register(NoticeDelivered{})
	register(NoticeFailed{})
	register(NoticeCanceled{})
	register(KeyExpired{})
}
