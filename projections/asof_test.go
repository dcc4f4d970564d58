package projections

import (
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
)

func TestParseAsOf(t *testing.T) {
	now := time.Date(2026, 3, 10, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want AsOf
		bad  bool
	}{
		{in: "42", want: AsOf{Seq: 42}},
		{in: "2026-03-03T14:02:00Z", want: AsOf{Time: time.Date(2026, 3, 3, 14, 2, 0, 0, time.UTC)}},
		{in: "2026-03-10T14:06:00Z", want: AsOf{Time: now.Add(4 * time.Minute)}}, // a client clock a little ahead
		{in: "2026-03-10T14:08:00Z", bad: true},                                  // the future
		{in: "2027-03-10T14:02:00Z", bad: true},                                  // a mistyped year
		{in: "0", bad: true},
		{in: "-3", bad: true},
		{in: "", bad: true},
		{in: "last tuesday", bad: true},
		{in: "2026-13-01T00:00:00Z", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseAsOf(tt.in, now)
		if tt.bad {
			if !domain.IsKind(err, domain.KindInvalid) {
				t.Errorf("ParseAsOf(%q) = %v, %v; want an invalid-input error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got.Seq != tt.want.Seq || !got.Time.Equal(tt.want.Time) {
			t.Errorf("ParseAsOf(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
