package domain

import (
	"testing"
	"time"
)

func TestParseExpiration(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		never   bool
		want    time.Time
		isNever bool
		wantErr bool
	}{
		{in: "", want: now.Add(90 * 24 * time.Hour)},
		{in: "1d", want: now.Add(24 * time.Hour)},
		{in: "12h", want: now.Add(12 * time.Hour)},
		{in: "90d", want: now.Add(90 * 24 * time.Hour)},
		{in: "3M", want: now.Add(90 * 24 * time.Hour)},
		{in: "30m", want: now.Add(30 * time.Minute)},
		{in: "1y", want: now.Add(365 * 24 * time.Hour)},
		{in: "2027-01-01T00:00:00Z", want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: "never", never: true, isNever: true},
		{in: "NEVER", never: true, isNever: true},
		{in: "never", never: false, wantErr: true},
		{in: "0d", wantErr: true},
		{in: "-1d", wantErr: true},
		{in: "1x", wantErr: true},
		{in: "d", wantErr: true},
		{in: "tomorrow", wantErr: true},
		{in: "2020-01-01T00:00:00Z", wantErr: true},
		{in: "999999999999999999d", wantErr: true},
		{in: "101y", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseExpiration(tt.in, now, tt.never)
			if tt.wantErr {
				if !IsKind(err, KindInvalid) {
					t.Fatalf("want invalid error, got %v (%v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Never() != tt.isNever || (!tt.isNever && !got.At.Equal(tt.want)) {
				t.Fatalf("got %v never=%v, want %v never=%v", got.At, got.Never(), tt.want, tt.isNever)
			}
		})
	}
}

func TestRemaining(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		12*24*time.Hour + time.Hour: "in 12 days",
		5 * time.Hour:               "in 5 hours",
		10 * time.Minute:            "in 10 minutes",
		-time.Second:                "expired",
	} {
		if got := Remaining(now.Add(d), now); got != want {
			t.Errorf("Remaining(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParseExpiration(f *testing.F) {
	for _, s := range []string{"", "1d", "never", "2027-01-01T00:00:00Z", "99999999999y", "-5m"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpiration(s, now, true)
		if err != nil {
			if !IsKind(err, KindInvalid) {
				t.Fatalf("non-invalid error %v", err)
			}
			return
		}
		if !e.Never() && (!e.At.After(now) || e.At.Sub(now) > MaxKeyLifetime) {
			t.Fatalf("%q gave %v", s, e.At)
		}
	})
}
