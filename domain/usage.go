package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// AggKeyUse is a key's usage record: kp.<tenant>.keyuse.<key id>. It is
// an aggregate of its own, not the key's, so that recording a use never
// moves the key's sequence: a user's update, rotation or revocation of
// the key never conflicts with a replica writing down that it was used.
const AggKeyUse = "keyuse"

// UsageGranularity is how finely the log records use: at most one KeyUsed
// per key per hour, whatever the number of replicas or requests.
const UsageGranularity = time.Hour

// KeyUsed v1: the key authenticated a request at Used (a replica's first
// note of the hour it writes down; later uses in the same hour are not
// recorded). It never holds the secret, only the key id.
type KeyUsed struct {
	KeyID KeyID     `json:"key_id"`
	Used  time.Time `json:"used"`
}

func (KeyUsed) EventType() string { return "KeyUsed" }
func (KeyUsed) EventVersion() int { return 1 }

func init() { register(KeyUsed{}) }

// UsageHour is the hour a use at t falls in: the unit of deduplication.
func UsageHour(t time.Time) time.Time { return t.UTC().Truncate(UsageGranularity) }

// NoteUse folds a usage record into the key: last use is the latest
// recorded, whatever order replicas wrote them in. It leaves Seq alone
// (the key's own subject did not move); UseSeq is the usage subject's.
func (k *Key) NoteUse(e Event) error {
	p, err := e.Decode()
	if err != nil {
		return err
	}
	u, ok := p.(KeyUsed)
	if !ok {
		return E(KindInternal, "key usage cannot apply %s", e.Type)
	}
	if u.Used.After(k.LastUsed) {
		k.LastUsed = u.Used.UTC()
	}
	k.UseSeq = e.Seq
	return nil
}

// DecideRecordUse says whether a use at used still needs a record: only
// when its hour is later than the last recorded use's. The usage subject's
// records therefore go strictly up by the hour, and since each append
// expects the subject's last sequence as it was decided on, two replicas
// deciding on the same state cannot both write: at most one record per
// key per hour, decided by the log.
func DecideRecordUse(k *Key, used time.Time) (KeyUsed, bool) {
	if !k.LastUsed.IsZero() && !UsageHour(used).After(UsageHour(k.LastUsed)) {
		return KeyUsed{}, false
	}
	return KeyUsed{KeyID: k.ID, Used: used.UTC().Truncate(time.Second)}, true
}

// UsageEventID is the id of the record of key id's use in used's hour:
// the same on every replica, so that a retried publish is recognised as
// the one already stored (eventlog's message id and storedAsLast).
func UsageEventID(t TenantID, id KeyID, used time.Time) string {
	h := sha256.Sum256([]byte(string(t) + "\x00" + string(id) + "\x00" + UsageHour(used).Format(time.RFC3339)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50 // a name-based UUID (version 5 layout)
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// ParseUsedBefore reads a list's used_before: an RFC 3339 time, or a
// duration ("90d", "12h", "3M") before now.
func ParseUsedBefore(s string, now time.Time) (time.Time, error) {
	if d, ok := parseDuration(s); ok {
		if d <= 0 || d > MaxKeyLifetime {
			return time.Time{}, Invalid("[used_before] duration [%s] must be positive and at most 100 years", s)
		}
		return now.Add(-d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Invalid("[used_before] must be an RFC 3339 time such as 2026-03-10T14:02:00Z or a duration such as 90d, not [%s]", s)
	}
	return t.UTC(), nil
}

// UnusedSince reports whether k was not used at or after t: last used
// before t, or never used and created before t. A key made after t is not
// "unused for 90 days", however unused.
func (k *Key) UnusedSince(t time.Time) bool {
	if k.LastUsed.IsZero() {
		return k.Created.Before(t)
	}
	return k.LastUsed.Before(t)
}

// LastUsedPhrase says when a key was last used, as a person says it:
// "never used", "last used within the hour", "last used 3 hours ago",
// "last used 3 days ago" (the log knows use to the hour).
func LastUsedPhrase(last, now time.Time) string {
	if last.IsZero() {
		return "never used"
	}
	d := now.Sub(last)
	switch {
	case d < time.Hour:
		return "last used within the hour"
	case d < 2*time.Hour:
		return "last used an hour ago"
	case d < 48*time.Hour:
		return "last used " + strconv.Itoa(int(d/time.Hour)) + " hours ago"
	}
	return "last used " + strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
}
