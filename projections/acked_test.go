package projections

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/domain"
)

// seen records the sequences a projection folded, in order.
type seen struct{ seqs []uint64 }

func (s *seen) Apply(ev domain.Event) error { s.seqs = append(s.seqs, ev.Seq); return nil }

// failing refuses one sequence.
type failing struct{ at uint64 }

func (f failing) Apply(ev domain.Event) error {
	if ev.Seq == f.at {
		return errors.New("cannot fold")
	}
	return nil
}

func evs(seqs ...uint64) []domain.Event {
	out := make([]domain.Event, len(seqs))
	for i, s := range seqs {
		out[i] = domain.Event{Seq: s, Type: "test"}
	}
	return out
}

func TestApplyAcked(t *testing.T) {
	tests := []struct {
		name    string
		applied uint64
		acked   []uint64
		// then the subscription delivers these
		delivered []uint64
		want      []uint64
	}{
		{"next event folds at once", 4, []uint64{5}, []uint64{5, 6}, []uint64{5, 6}},
		{"a command's events together", 4, []uint64{5, 6, 7}, []uint64{5, 6, 7}, []uint64{5, 6, 7}},
		{"subscription behind: wait for it", 4, []uint64{7}, []uint64{5, 6, 7}, []uint64{5, 6, 7}},
		{"already delivered", 6, []uint64{5}, []uint64{7}, []uint64{7}},
		{"not contiguous: stop at the gap", 4, []uint64{5, 7}, []uint64{5, 6, 7}, []uint64{5, 6, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			r := NewRunner(s)
			r.SetApplied(tt.applied)
			r.ApplyAcked(evs(tt.acked...))
			for _, ev := range evs(tt.delivered...) {
				if err := r.Apply(ev); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(s.seqs, tt.want) {
				t.Fatalf("folded %v, want each of %v exactly once in order", s.seqs, tt.want)
			}
		})
	}
}

func TestApplyAckedReadYourWrite(t *testing.T) {
	r := NewRunner(&seen{})
	r.SetApplied(9)
	r.ApplyAcked(evs(10))
	// No subscription runs here: the wait returns only because the
	// acknowledged event was folded directly.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.WaitFor(ctx, 10); err != nil {
		t.Fatalf("WaitFor after ApplyAcked: %v", err)
	}
}

func TestApplyAckedQuarantinesWhatAProjectionRefusesAndFoldsOn(t *testing.T) {
	s := &seen{}
	r := NewRunner(failing{at: 3}, s)
	r.SetApplied(2)
	acked := evs(3, 4)
	for i := range acked { // events that decode: only the projection refuses
		acked[i] = domain.NewEvent("e", "t", domain.AggOrg, "t", domain.Meta{}, domain.OrgCreated{OrgID: "t", Name: "acme"})
		acked[i].Seq = uint64(3 + i)
	}
	r.ApplyAcked(acked)
	if err := r.WaitFor(context.Background(), 4); err != nil {
		t.Fatalf("WaitFor after a projection refused an event: %v", err)
	}
	if !slices.Equal(s.seqs, []uint64{3, 4}) {
		t.Fatalf("the other projection folded %v, want [3 4]", s.seqs)
	}
	want := []Poisoned{{Seq: 3, Subject: "kp.t.org.t", Cause: "refused by projection projections.failing"}}
	if got := r.Quarantine().Events(); !slices.Equal(got, want) {
		t.Fatalf("quarantined %+v, want %+v", got, want)
	}
}
