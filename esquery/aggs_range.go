package esquery

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// range and date_range: a bucket per range of a date (or boolean) field,
// from inclusive, to exclusive; ranges may overlap.

type aggRange struct {
	key      string
	from, to float64 // -Inf, +Inf when open
}

type rangeAgg[D any] struct {
	f       Field[D]
	ranges  []aggRange
	keyed   bool
	missing []aval
}

func (p *aggParser[D]) ranges(n *node[D], typ string, body any) error {
	m, err := params(n.name, typ, body, "field", "ranges", "keyed", "format", "missing", "time_zone", "value_type")
	if err != nil {
		return err
	}
	f, name, err := p.aggField(m)
	if err != nil {
		return err
	}
	if f.Type == Keyword {
		return illegalArg("Field [%s] of type [keyword] is not supported for aggregation [%s]", name, typ)
	}
	if err := dateOptions(m); err != nil {
		return err
	}
	list, ok := m["ranges"].([]any)
	if !ok || len(list) == 0 {
		return illegalArg("No [ranges] specified for the [%s] aggregation", n.name)
	}
	if len(list) > MaxAggEntries {
		return domain.Invalid("[ranges] of [%s] lists %d ranges, over the limit of %d", n.name, len(list), MaxAggEntries)
	}
	a := rangeAgg[D]{f: f}
	for _, item := range list {
		r, err := p.oneRange(f, typ, item)
		if err != nil {
			return err
		}
		a.ranges = append(a.ranges, r)
	}
	// Elasticsearch answers ranges in the order of their bounds.
	slices.SortStableFunc(a.ranges, func(x, y aggRange) int {
		if c := cmp.Compare(x.from, y.from); c != 0 {
			return c
		}
		return cmp.Compare(x.to, y.to)
	})
	if k, ok := m["keyed"]; ok {
		if a.keyed, ok = k.(bool); !ok {
			return parsingErr("[keyed] of [%s] must be true or false", n.name)
		}
	}
	if v, ok := m["missing"]; ok {
		mv, err := p.parseValue(f, name, v)
		if err != nil {
			return err
		}
		a.missing = []aval{mv}
	}
	n.typ, n.impl, n.fanout, n.perDoc, n.evals = typ, a, len(a.ranges), len(a.ranges), 1
	return nil
}

// dateOptions accepts the format and time zone keyplane answers in:
// strict_date_optional_time, UTC.
func dateOptions(m map[string]any) error {
	if f, ok := m["format"]; ok {
		switch f {
		case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time||epoch_millis", "epoch_millis":
		default:
			return illegalArg("[format] [%v] is not supported: keyplane answers dates as strict_date_optional_time", f)
		}
	}
	if tz, ok := m["time_zone"]; ok {
		switch tz {
		case "UTC", "Z", "+00:00", "Etc/UTC", "GMT":
		default:
			return illegalArg("[time_zone] [%v] is not supported: keyplane computes dates in UTC", tz)
		}
	}
	return nil
}

func (p *aggParser[D]) oneRange(f Field[D], typ string, item any) (aggRange, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return aggRange{}, parsingErr("[ranges] must hold objects of [from], [to] and [key]")
	}
	r := aggRange{from: math.Inf(-1), to: math.Inf(1)}
	for k, v := range m {
		var err error
		switch k {
		case "key":
			s, ok := v.(string)
			if !ok {
				return r, parsingErr("[key] of a range must be a string")
			}
			r.key = s
		case "from":
			r.from, err = p.bound(f, v, r.from)
		case "to":
			r.to, err = p.bound(f, v, r.to)
		default:
			return r, unknownField(typ, k)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// bound reads a range bound: a date or date math for dates, a number
// otherwise; null leaves the range open.
func (p *aggParser[D]) bound(f Field[D], v any, open float64) (float64, error) {
	if v == nil {
		return open, nil
	}
	if f.Type == Date {
		ms, err := ParseMillis(v, p.c.now)
		return float64(ms), err
	}
	s, _ := KeywordOf(v)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, illegalArg("a range bound must be a number, not [%v]", v)
	}
	return x, nil
}

func (a rangeAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	r := newReader(a.f)
	t := newTally(n, len(a.ranges))
	for _, d := range docs {
		vals := r.values(d)
		if len(vals) == 0 {
			vals = a.missing
		}
		for i, rg := range a.ranges {
			for _, v := range vals {
				if x := float64(v.n); x >= rg.from && x < rg.to {
					t.add(i, d)
					break
				}
			}
		}
	}
	return assembleBuckets(len(a.ranges), a.keyed, true, func(i int) (string, map[string]any, error) {
		b := map[string]any{}
		key := a.describe(a.ranges[i], b)
		body, err := t.body(i, typed, b)
		return key, body, err
	})
}

// describe adds a range's bounds to its bucket, as Elasticsearch shows
// them (numbers, and dates as text too), and returns its key.
func (a rangeAgg[D]) describe(rg aggRange, body map[string]any) string {
	from, to := "*", "*"
	if !math.IsInf(rg.from, 0) {
		body["from"] = rg.from
		from = a.text(rg.from)
		if a.f.Type == Date {
			body["from_as_string"] = from
		}
	}
	if !math.IsInf(rg.to, 0) {
		body["to"] = rg.to
		to = a.text(rg.to)
		if a.f.Type == Date {
			body["to_as_string"] = to
		}
	}
	if rg.key != "" {
		return rg.key
	}
	return from + "-" + to
}

// text is a bound as keys show it: a date as text, a number as Java
// prints a double.
func (a rangeAgg[D]) text(x float64) string {
	if a.f.Type == Date {
		return formatMillis(int64(x))
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
