package esquery

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// dateLayouts are the date forms accepted besides epoch milliseconds
// (Elasticsearch's strict_date_optional_time||epoch_millis).
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// ParseMillis reads a date as a query gives it: epoch milliseconds (number
// or text), a date or date-time, or date math such as "now-1d/d" or
// "2026-01-01||+1M".
func ParseMillis(v any, now time.Time) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		if f, err := x.Float64(); err == nil {
			return int64(f), nil
		}
	case float64:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case string:
		return parseDateString(x, now)
	}
	return 0, domain.Invalid("failed to parse date field [%v]: expected epoch milliseconds, a date or date math", v)
}

func parseDateString(s string, now time.Time) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	anchor, math := s, ""
	if strings.HasPrefix(s, "now") {
		anchor, math = "", s[3:]
	} else if i := strings.Index(s, "||"); i >= 0 {
		anchor, math = s[:i], s[i+2:]
	}
	t := now.UTC()
	if anchor != "" {
		var err error
		if t, err = parseAnchor(anchor); err != nil {
			return 0, err
		}
	}
	t, err := applyDateMath(t, math, s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

func parseAnchor(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, domain.Invalid("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
}

// applyDateMath applies "+1d", "-2h", "/d" steps in order.
func applyDateMath(t time.Time, math, whole string) (time.Time, error) {
	bad := domain.Invalid("failed to parse date math [%s]", whole)
	for math != "" {
		op := math[0]
		math = math[1:]
		n := 1
		if op == '+' || op == '-' {
			i := 0
			for i < len(math) && math[i] >= '0' && math[i] <= '9' {
				i++
			}
			if i > 0 {
				v, err := strconv.Atoi(math[:i])
				if err != nil || v > 100000 {
					return t, bad
				}
				n = v
			}
			math = math[i:]
		} else if op != '/' {
			return t, bad
		}
		if math == "" {
			return t, bad
		}
		unit := math[0]
		math = math[1:]
		var ok bool
		if op == '/' {
			t, ok = roundDown(t, unit)
		} else {
			if op == '-' {
				n = -n
			}
			t, ok = addUnits(t, n, unit)
		}
		if !ok {
			return t, bad
		}
	}
	return t, nil
}

func addUnits(t time.Time, n int, unit byte) (time.Time, bool) {
	switch unit {
	case 'y':
		return t.AddDate(n, 0, 0), true
	case 'M':
		return t.AddDate(0, n, 0), true
	case 'w':
		return t.AddDate(0, 0, 7*n), true
	case 'd':
		return t.AddDate(0, 0, n), true
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour), true
	case 'm':
		return t.Add(time.Duration(n) * time.Minute), true
	case 's':
		return t.Add(time.Duration(n) * time.Second), true
	}
	return t, false
}

func roundDown(t time.Time, unit byte) (time.Time, bool) {
	y, mo, d := t.Date()
	switch unit {
	case 'y':
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), true
	case 'M':
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC), true
	case 'w':
		wd := (int(t.Weekday()) + 6) % 7 // Monday first
		return time.Date(y, mo, d-wd, 0, 0, 0, 0, time.UTC), true
	case 'd':
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), true
	case 'h', 'H':
		return t.Truncate(time.Hour), true
	case 'm':
		return t.Truncate(time.Minute), true
	case 's':
		return t.Truncate(time.Second), true
	}
	return t, false
}
