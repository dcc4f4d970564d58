package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressCountsEventsNotRuns feeds a progress what a replay does (the
// last sequence of each run of 256 events, at 200,000 events/s on a fake
// clock) and checks the rate, the ETA and how often it draws.
func TestProgressCountsEventsNotRuns(t *testing.T) {
	const total, run, upTo = 1_000_000, 256, 600_000 // updates stop at upTo, then done(total)
	perRun := 1280 * time.Microsecond                // 256 events at 200,000/s
	for _, c := range []struct {
		name  string
		tty   bool
		lines int      // plain lines, or bar redraws, before done
		want  []string // in the first line drawn
	}{
		{"plain lines every 2 s", false, 1, []string{"replay: 400128/1000000 events  200000 events/s  ETA 3s\n"}},
		{"a bar redrawn every 100 ms", true, 29, []string{"\r[" + strings.Repeat(".", 30) + "]", "] 20224/1000000 events  200000 events/s  ETA 5s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			clock := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			p := newProgressAt(&out, total, c.tty, func() time.Time { return clock })
			for seq := uint64(run); seq <= upTo; seq += run {
				clock = clock.Add(perRun)
				p.update(seq)
			}
			drawn := out.String()
			sep := "\n"
			if c.tty {
				sep = "\r"
			}
			if n := strings.Count(drawn, sep); n != c.lines {
				t.Errorf("drew %d times, want %d:\n%q", n, c.lines, drawn)
			}
			first := drawn
			if c.tty {
				first = drawn[:strings.Index(drawn[1:], "\r")+1]
			}
			for _, w := range c.want {
				if !strings.Contains(first, w) {
					t.Errorf("first draw %q lacks %q", first, w)
				}
			}
			p.done(total)
			last := out.String()[len(drawn):]
			if !strings.Contains(last, "1000000/1000000 events") || !strings.Contains(last, "ETA -") || !strings.HasSuffix(last, "\n") {
				t.Errorf("final draw %q", last)
			}
			if c.tty && !strings.Contains(last, "["+strings.Repeat("#", 30)+"]") {
				t.Errorf("final bar %q is not full", last)
			}
		})
	}
}
