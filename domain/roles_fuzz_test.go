package domain

import (
	"encoding/json"
	"testing"
)

// FuzzParseRoleDescriptors: whatever the input, parsing either fails as a
// client error or gives descriptors whose JSON parses back to the same
// JSON (what is stored in an event reads back the same). Seeds are in
// testdata/fuzz/FuzzParseRoleDescriptors.
func FuzzParseRoleDescriptors(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		rds, err := ParseRoleDescriptors(raw)
		if err != nil {
			if !IsKind(err, KindInvalid) {
				t.Fatalf("%q: %v error %v, want invalid", raw, KindOf(err), err)
			}
			return
		}
		once, err := json.Marshal(rds)
		if err != nil {
			t.Fatalf("%q: parsed descriptors do not encode: %v", raw, err)
		}
		again, err := ParseRoleDescriptors(once)
		if err != nil {
			t.Fatalf("%q: its own encoding %s does not parse: %v", raw, once, err)
		}
		twice, _ := json.Marshal(again)
		if string(once) != string(twice) {
			t.Fatalf("%q: encoding is not stable:\n%s\n%s", raw, once, twice)
		}
	})
}
