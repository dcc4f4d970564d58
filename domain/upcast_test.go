package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testNoteV1 and testNoteV2 are a test-only event whose schema changed: v1
// held one text; v2 splits it into a title and a body. Only this test
// binary registers them.
type testNoteV1 struct {
	Text string `json:"text"`
}

func (testNoteV1) EventType() string { return "TestNote" }
func (testNoteV1) EventVersion() int { return 1 }

type testNoteV2 struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
}

func (testNoteV2) EventType() string { return "TestNote" }
func (testNoteV2) EventVersion() int { return 2 }

func init() {
	register(testNoteV2{})
	registerUpcast(testNoteV1{}, func(o testNoteV1) testNoteV2 {
		title, body, _ := strings.Cut(o.Text, "\n")
		return testNoteV2{Title: title, Body: body}
	})
}

func TestAnUpcastEventReplaysNextToItsNewVersion(t *testing.T) {
	// The log as an old binary (v1) and a new one (v2) wrote it.
	var stored [][]byte
	for i, p := range []Payload{testNoteV1{Text: "rotate keys\nbefore friday"}, testNoteV2{Title: "done", Body: "all rotated"}} {
		ev := NewEvent("e", "org1", "note", "n1", Meta{Time: time.Unix(int64(i), 0)}, p)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b)
	}
	if !strings.Contains(string(stored[0]), `"v":1`) || !strings.Contains(string(stored[0]), `"text":"rotate keys\nbefore friday"`) {
		t.Fatalf("v1 as stored: %s", stored[0])
	}
	// Replay: every event comes out at the current version.
	var folded []testNoteV2
	for seq, b := range stored {
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(seq + 1)
		p, err := ev.Decode()
		if err != nil {
			t.Fatalf("event %d: %v", ev.Seq, err)
		}
		folded = append(folded, p.(testNoteV2))
	}
	want := []testNoteV2{{Title: "rotate keys", Body: "before friday"}, {Title: "done", Body: "all rotated"}}
	if fmt.Sprint(folded) != fmt.Sprint(want) {
		t.Fatalf("replayed %+v, want %+v", folded, want)
	}
	// A version this binary does not know is an error, never a guess.
	future := Event{Type: "TestNote", Version: 3, Data: []byte(`{"title":"x"}`)}
	if _, err := future.Decode(); !IsKind(err, KindInternal) {
		t.Fatalf("v3: %v, want an internal error", err)
	}
}
