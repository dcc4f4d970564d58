package projections

import (
	"cmp"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Time keys order as the times do, stand for one time each where exact,
// and the keys read off packed records are those of their times: at the
// edges of Unix nanoseconds, the zero time, "never expires", years before
// 1 and past it, other locations, monotonic readings.
func TestTimeKeysOrderAsTheirTimes(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	times := []time.Time{{}, time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}.Add(time.Nanosecond), time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
		lowestNano.Add(-1), lowestNano, time.Unix(0, 0), t0, t0.In(paris), time.Now(), highestNano, highestNano.Add(1),
		time.Date(2400, 1, 1, 0, 0, 0, 0, paris), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), neverExpires.Add(-1), neverExpires,
		neverExpires.Add(1), time.Date(50000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, a := range times {
		for _, b := range times {
			ka, kb := timeKey(a), timeKey(b)
			if c := cmp.Compare(ka, kb); c != 0 && c != a.Compare(b) || c == 0 && exactKey(ka) && !a.Equal(b) {
				t.Errorf("%v (key %d) and %v (key %d) compare %d, the times %d", a, ka, b, kb, c, a.Compare(b))
			}
			if exactKey(ka) && !keyTime(ka).Equal(a) {
				t.Errorf("%v's key %d gives back %v", a, ka, keyTime(ka))
			}
		}
		var in keyInterns
		for _, created := range []time.Time{t0, a} {
			r := in.record(&domain.Key{ID: "k", Created: created, Expires: a, LastUsed: a}, nil)
			if got, want := expiryKey(r), timeKey(expiryOf(r)); got != want {
				t.Errorf("expiring at %v: key %d, want %d", a, got, want)
			}
			if got, want := lastUseKey(r), timeKey(lastUseOf(r)); got != want {
				t.Errorf("used at %v: key %d, want %d", a, got, want)
			}
		}
	}
}
