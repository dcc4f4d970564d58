package domain

import (
	"encoding/json"
	"os"
	"testing"
)

// golden is one released event version in testdata/events and the payload
// it must decode to.
type golden struct {
	file string
	want Payload
}

// checkGolden decodes each golden event and compares it with its payload;
// when it is the current version, writing the payload today must give the
// stored data byte for byte. A released version never changes meaning.
func checkGolden(t *testing.T, tests []golden) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/events/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var ev Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			p, err := ev.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := jsonOf(t, p), jsonOf(t, tt.want); g != w || p.EventType() != tt.want.EventType() {
				t.Fatalf("decoded %s %s, want %s", p.EventType(), g, w)
			}
			if ev.Version == p.EventVersion() {
				again := NewEvent(ev.ID, ev.Tenant, ev.AggType, ev.AggID, Meta{Time: ev.Time}, p)
				if string(again.Data) != string(ev.Data) {
					t.Fatalf("written today as %s, golden %s", again.Data, ev.Data)
				}
			}
		})
	}
}
