package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress shows how a long read goes: on a terminal, a bar redrawn in
// place (events, events/s, ETA); otherwise, a plain line every few
// seconds, which a log file or CI output can keep. It is told sequences:
// a replay reads the log from its first event, so the sequence it is at
// is the number of events done.
type progress struct {
	w     io.Writer
	tty   bool
	total uint64
	now   func() time.Time
	start time.Time
	shown time.Time
}

func newProgress(w io.Writer, total uint64) *progress {
	return newProgressAt(w, total, isTerminal(w), time.Now)
}

func newProgressAt(w io.Writer, total uint64, tty bool, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, tty: tty, total: total, now: now, start: t, shown: t}
}

// update is called with the last sequence of each run of events applied
// (a few hundred at a time), so it can afford the clock every call.
func (p *progress) update(seq uint64) {
	every := 2 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := p.now(); now.Sub(p.shown) >= every {
		p.shown = now
		p.show(seq, false)
	}
}

// done shows the final state and ends the bar's line.
func (p *progress) done(seq uint64) { p.show(seq, true) }

func (p *progress) show(seq uint64, final bool) {
	el := p.now().Sub(p.start)
	rate := float64(seq) / max(el.Seconds(), 1e-9)
	eta := "-"
	if rate > 0 && p.total > seq {
		eta = time.Duration(float64(p.total-seq) / rate * float64(time.Second)).Round(time.Second).String()
	}
	line := fmt.Sprintf("%d/%d events  %.0f events/s  ETA %s", seq, p.total, rate, eta)
	if !p.tty {
		fmt.Fprintf(p.w, "replay: %s\n", line)
		return
	}
	const width = 30
	filled := width
	if p.total > 0 {
		filled = int(uint64(width) * min(seq, p.total) / p.total)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled), line)
	if final {
		fmt.Fprintln(p.w)
	}
}
