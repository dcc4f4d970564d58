package esquery

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// histogram and date_histogram sources of a composite: a value's key is
// the start of its interval.

// bucketing reads the interval of a histogram or date_histogram source.
func (p *aggParser[D]) bucketing(src *compositeSource[D], typ string, m map[string]any) error {
	switch typ {
	case "histogram":
		return p.histogram(src, m)
	case "date_histogram":
		return p.dateHistogram(src, m)
	}
	return nil
}

func (p *aggParser[D]) histogram(src *compositeSource[D], m map[string]any) error {
	if src.f.Type == Keyword {
		return illegalArg("Field [%s] of type [keyword] is not supported for aggregation [histogram]", m["field"])
	}
	interval, err := floatParam(m, "interval", 0)
	if err != nil || interval <= 0 || math.IsInf(interval, 0) {
		return illegalArg("[interval] must be >0 for histogram aggregation [%s]", src.name)
	}
	offset, err := floatParam(m, "offset", 0)
	if err != nil {
		return err
	}
	src.float = true
	src.bucket = func(v aval) aval {
		x := math.Floor((float64(v.n)-offset)/interval)*interval + offset
		return aval{n: sortableFloat(x)}
	}
	return nil
}

func floatParam(m map[string]any, key string, def float64) (float64, error) {
	v, ok := m[key]
	if !ok {
		return def, nil
	}
	s, _ := KeywordOf(v)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, illegalArg("[%s] must be a number, not [%v]", key, v)
	}
	return x, nil
}

func (p *aggParser[D]) dateHistogram(src *compositeSource[D], m map[string]any) error {
	if src.f.Type != Date {
		return illegalArg("Field [%s] of type [%s] is not supported for aggregation [date_histogram]", m["field"], src.f.Type)
	}
	if err := dateOptions(m); err != nil {
		return err
	}
	round, err := dateRounding(m, src.name)
	if err != nil {
		return err
	}
	offset, err := dateOffset(m["offset"])
	if err != nil {
		return err
	}
	_, src.formatted = m["format"]
	src.bucket = func(v aval) aval { return aval{n: round(v.n-offset) + offset} }
	return nil
}

// dateRounding reads calendar_interval or fixed_interval (or the
// deprecated interval, either).
func dateRounding(m map[string]any, name string) (func(int64) int64, error) {
	cal, hasCal := m["calendar_interval"].(string)
	fixed, hasFixed := m["fixed_interval"].(string)
	if old, ok := m["interval"].(string); ok && !hasCal && !hasFixed {
		if _, isCal := calendarUnit(old); isCal {
			cal, hasCal = old, true
		} else {
			fixed, hasFixed = old, true
		}
	}
	switch {
	case hasCal && hasFixed:
		return nil, illegalArg("Cannot use [fixed_interval] with [calendar_interval] configuration option.")
	case hasCal:
		unit, ok := calendarUnit(cal)
		if !ok {
			return nil, illegalArg("The supplied interval [%s] could not be parsed as a calendar interval.", cal)
		}
		return func(ms int64) int64 { return roundCalendar(ms, unit) }, nil
	case hasFixed:
		step, err := fixedInterval(fixed)
		if err != nil {
			return nil, err
		}
		return func(ms int64) int64 { return floorDiv(ms, step) * step }, nil
	}
	return nil, illegalArg("Invalid interval specified, must be non-null and non-empty for [%s]", name)
}

// calendarUnit reads a calendar interval: 1m, minute, 1h, hour, 1d, day,
// 1w, week, 1M, month, 1q, quarter, 1y, year.
func calendarUnit(s string) (byte, bool) {
	switch s {
	case "1m", "minute":
		return 'm', true
	case "1h", "hour":
		return 'h', true
	case "1d", "day":
		return 'd', true
	case "1w", "week":
		return 'w', true
	case "1M", "month":
		return 'M', true
	case "1q", "quarter":
		return 'q', true
	case "1y", "year":
		return 'y', true
	}
	return 0, false
}

func roundCalendar(ms int64, unit byte) int64 {
	t := time.UnixMilli(ms).UTC()
	if unit == 'q' {
		y, mo, _ := t.Date()
		return time.Date(y, (mo-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	r, _ := roundDown(t, unit)
	return r.UnixMilli()
}

// fixedInterval reads a fixed interval: a whole number of ms, s, m, h or
// d.
func fixedInterval(s string) (int64, error) {
	units := map[string]int64{"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
	for _, u := range []string{"ms", "s", "m", "h", "d"} {
		if num, ok := strings.CutSuffix(s, u); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err == nil && n > 0 && n <= math.MaxInt64/units[u] {
				return n * units[u], nil
			}
			break
		}
	}
	return 0, illegalArg("failed to parse setting [date_histogram.fixedInterval] with value [%s] as a time value: unit is missing or unrecognized", s)
}

// dateOffset reads offset: "+6h", "-1d" or milliseconds.
func dateOffset(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		neg := strings.HasPrefix(x, "-")
		step, err := fixedInterval(strings.TrimLeft(x, "+-"))
		if err != nil {
			return 0, err
		}
		if neg {
			step = -step
		}
		return step, nil
	}
	s, _ := KeywordOf(v)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, illegalArg("[offset] must be a time value such as +6h, not [%v]", v)
	}
	return n, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// bucketed turns vals into their distinct bucket keys, in dst.
func bucketed(dst, vals []aval, b func(aval) aval) []aval {
	for _, v := range vals {
		dst = append(dst, b(v))
	}
	if len(dst) > 1 {
		slices.SortFunc(dst, func(x, y aval) int { return compareVals(Date, x, y) })
		dst = slices.Compact(dst)
	}
	return dst
}

// sortableFloat maps a double to an int64 of the same order (and back).
func sortableFloat(f float64) int64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return int64(b ^ 1<<63)
}

func unsortableFloat(n int64) float64 {
	b := uint64(n) ^ 1<<63
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// afterValue reads a source's value in after, as after_key shows it.
func (p *aggParser[D]) afterValue(src *compositeSource[D], v any) (aval, error) {
	switch {
	case src.float:
		s, _ := KeywordOf(v)
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return aval{}, illegalArg("[after.%s] must be a number, not [%v]", src.name, v)
		}
		return aval{n: sortableFloat(x)}, nil
	case src.bucket != nil:
		ms, err := ParseMillis(v, p.c.now)
		if err != nil {
			return aval{}, domain.Invalid("[after.%s]: %s", src.name, domain.ReasonOf(err))
		}
		return aval{n: ms}, nil
	}
	return p.parseValue(src.f, src.name, v)
}
