package domain

import (
	"strconv"
	"strings"
	"time"
)

// DefaultKeyLifetime is how long a key lives when its creator names no
// expiration: three months, as in Elastic Cloud.
const DefaultKeyLifetime = 90 * 24 * time.Hour

// MaxKeyLifetime bounds explicit expirations so arithmetic never overflows.
const MaxKeyLifetime = 100 * 365 * 24 * time.Hour

// Expiration is a key's end of life; the zero value means never.
type Expiration struct {
	At time.Time
}

// Never reports whether the key never expires.
func (e Expiration) Never() bool { return e.At.IsZero() }

// Millis is the expiration in Unix milliseconds, 0 for never.
func (e Expiration) Millis() int64 {
	if e.Never() {
		return 0
	}
	return e.At.UnixMilli()
}

// unitDurations are Elasticsearch's time units, plus M (month = 30 days) and
// y (year = 365 days) as in Elastic Cloud's expiration choices.
var unitDurations = map[string]time.Duration{
	"nanos":  time.Nanosecond,
	"micros": time.Microsecond,
	"ms":     time.Millisecond,
	"s":      time.Second,
	"m":      time.Minute,
	"h":      time.Hour,
	"d":      24 * time.Hour,
	"w":      7 * 24 * time.Hour,
	"M":      30 * 24 * time.Hour,
	"y":      365 * 24 * time.Hour,
}

// ParseExpiration reads an expiration as given by a client: empty means the
// default (three months from now), "never" means no expiration, a duration
// such as "1d", "12h", "90d" or "3M" is relative to now, and an RFC 3339 time
// is absolute. Expirations in the past or beyond MaxKeyLifetime are refused.
func ParseExpiration(s string, now time.Time, neverAllowed bool) (Expiration, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Expiration{At: now.Add(DefaultKeyLifetime).UTC()}, nil
	case strings.EqualFold(s, "never"):
		if !neverAllowed {
			return Expiration{}, Invalid("expiration [never] is not allowed by policy")
		}
		return Expiration{}, nil
	}
	if d, ok := parseDuration(s); ok {
		if d <= 0 {
			return Expiration{}, Invalid("expiration [%s] must be positive", s)
		}
		if d > MaxKeyLifetime {
			return Expiration{}, Invalid("expiration [%s] is more than 100 years away", s)
		}
		return Expiration{At: now.Add(d).UTC()}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Expiration{}, Invalid("failed to parse expiration [%s]: use a duration such as 1d, 12h, 90d, an RFC 3339 time, or never", s)
	}
	if !t.After(now) {
		return Expiration{}, Invalid("expiration [%s] is in the past", s)
	}
	if t.Sub(now) > MaxKeyLifetime {
		return Expiration{}, Invalid("expiration [%s] is more than 100 years away", s)
	}
	return Expiration{At: t.UTC()}, nil
}

// parseDuration reads "<integer><unit>", longest unit suffix first.
func parseDuration(s string) (time.Duration, bool) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || (i == 0 && s[i] == '-')) {
		i++
	}
	if i == 0 || i == len(s) {
		return 0, false
	}
	unit, ok := unitDurations[s[i:]]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	if n > int64(MaxKeyLifetime/unit)+1 || n < -int64(MaxKeyLifetime/unit)-1 {
		return MaxKeyLifetime + 1, true
	}
	return time.Duration(n) * unit, true
}

// Remaining describes how long is left before t, as a person says it:
// "in 12 days", "in 3 hours", "expired".
func Remaining(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	switch {
	case d >= 48*time.Hour:
		return "in " + strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour:
		return "in " + strconv.Itoa(int(d/time.Hour)) + " hours"
	case d >= 2*time.Minute:
		return "in " + strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return "in less than 2 minutes"
}
