package projections

import "github.com/keyplane/keyplane/domain"

// ApplyAcked folds a command's own events the moment the log acknowledged
// them, instead of waiting for the subscription to bring them back: that
// round trip was a third of a lone create's latency. It does so only when
// the events are exactly the next ones the projections need (their
// sequences follow the last applied one without a gap); otherwise the
// subscription is behind and will deliver them, in order, after the events
// before them. The subscription later skips what was applied here.
//
// evs must carry their stream sequences, contiguous and ascending, and be
// the events exactly as appended. An event a projection refuses is
// quarantined, as it would be on the subscription (Apply).
func (r *Runner) ApplyAcked(evs []domain.Event) {
	if len(evs) == 0 {
		return
	}
	r.fold.Lock()
	defer r.fold.Unlock()
	if r.applied.Load()+1 != evs[0].Seq {
		return
	}
	for i, ev := range evs {
		if i > 0 && ev.Seq != evs[i-1].Seq+1 {
			return
		}
		r.applyTo(r.appliers, ev)
		r.advance(ev.Seq)
	}
}
