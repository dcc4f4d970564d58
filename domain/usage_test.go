package domain

import (
	"testing"
	"time"
)

func TestOnlyAUseInALaterHourNeedsARecord(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 12, 6, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		last time.Time
		used time.Time
		want bool
	}{
		{"never used", time.Time{}, at(10, 5), true},
		{"same hour", at(10, 5), at(10, 59), false},
		{"later hour", at(10, 5), at(11, 0), true},
		{"earlier hour, written late", at(11, 1), at(10, 59), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &Key{ID: "k1", LastUsed: tt.last}
			ev, ok := DecideRecordUse(k, tt.used)
			if ok != tt.want {
				t.Fatalf("record needed = %v, want %v", ok, tt.want)
			}
			if ok && (ev.KeyID != "k1" || !ev.Used.Equal(tt.used)) {
				t.Fatalf("record %+v", ev)
			}
		})
	}
}

func TestAUsageRecordMovesLastUseForwardOnlyAndNeverTheKeysSequence(t *testing.T) {
	k := &Key{ID: "k1", Seq: 7}
	rec := func(used time.Time, seq uint64) Event {
		ev := NewEvent("e", "t", AggKeyUse, "k1", Meta{Time: used}, KeyUsed{KeyID: "k1", Used: used})
		ev.Seq = seq
		return ev
	}
	late := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	if err := k.NoteUse(rec(late, 9)); err != nil {
		t.Fatal(err)
	}
	if err := k.NoteUse(rec(late.Add(-time.Hour), 12)); err != nil {
		t.Fatal(err)
	}
	if !k.LastUsed.Equal(late) || k.Seq != 7 || k.UseSeq != 12 {
		t.Fatalf("last used %v seq %d use seq %d", k.LastUsed, k.Seq, k.UseSeq)
	}
}

func TestAUsageRecordsIDIsTheSameForOneKeyAndHourOnEveryReplica(t *testing.T) {
	a := UsageEventID("t", "k1", time.Date(2026, 12, 6, 10, 1, 0, 0, time.UTC))
	b := UsageEventID("t", "k1", time.Date(2026, 12, 6, 10, 59, 0, 0, time.UTC))
	c := UsageEventID("t", "k1", time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC))
	d := UsageEventID("t", "k2", time.Date(2026, 12, 6, 10, 1, 0, 0, time.UTC))
	if a != b || a == c || a == d || len(a) != 36 {
		t.Fatalf("ids %s %s %s %s", a, b, c, d)
	}
}

func TestUsedBeforeTakesATimeOrADurationBeforeNowAndRefusesTheRest(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"90d", now.Add(-90 * 24 * time.Hour), false},
		{"12h", now.Add(-12 * time.Hour), false},
		{"2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false},
		{"0d", time.Time{}, true},
		{"-3d", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUsedBefore(tt.in, now)
			if (err != nil) != tt.bad || !got.Equal(tt.want) {
				t.Fatalf("ParseUsedBefore(%q) = %v, %v", tt.in, got, err)
			}
			if tt.bad && !IsKind(err, KindInvalid) {
				t.Fatalf("error %v is not invalid", err)
			}
		})
	}
}

func TestAKeyIsUnusedSinceATimeOnlyIfNotUsedSinceAndMadeBefore(t *testing.T) {
	cut := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		created, used time.Time
		want          bool
	}{
		{"used before", cut.Add(-100 * time.Hour), cut.Add(-time.Hour), true},
		{"used after", cut.Add(-100 * time.Hour), cut.Add(time.Hour), false},
		{"never used, made before", cut.Add(-time.Hour), time.Time{}, true},
		{"never used, made after", cut.Add(time.Hour), time.Time{}, false},
	}
	for _, tt := range tests {
		k := Key{Created: tt.created, LastUsed: tt.used}
		if got := k.UnusedSince(cut); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}

func TestLastUsePhrasesSayHowLongAgo(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for last, want := range map[time.Time]string{
		{}:                           "never used",
		now.Add(-10 * time.Minute):   "last used within the hour",
		now.Add(-5 * time.Hour):      "last used 5 hours ago",
		now.Add(-3*24*time.Hour - 1): "last used 3 days ago",
	} {
		if got := LastUsedPhrase(last, now); got != want {
			t.Errorf("%v: %q, want %q", last, got, want)
		}
	}
}
