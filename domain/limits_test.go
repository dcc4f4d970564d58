package domain

import (
	"encoding/json"
	"strings"
	"testing"
)

// nest is n levels of {"a": ...} around leaf.
func nest(n int, leaf string) string {
	return strings.Repeat(`{"a":`, n) + leaf + strings.Repeat(`}`, n)
}

func TestBodyDepthIsCheckedWhereMetadataAndDescriptorsNest(t *testing.T) {
	cases := []struct {
		name, body string
		refusal    string // "" when accepted
	}{
		{"metadata 20 levels", `{"metadata":` + nest(20, `1`) + `}`, ""},
		{"metadata 21 levels", `{"metadata":` + nest(21, `1`) + `}`, "[metadata]"},
		{"metadata 21 levels of arrays", `{"metadata":{"a":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}}`, "[metadata]"},
		{"metadata named with an escape", `{"meta\u0064ata":` + nest(21, `1`) + `}`, "[metadata]"},
		{"metadata named in capitals", `{"METADATA":` + nest(21, `1`) + `}`, "[metadata]"},
		{"transient metadata", `{"transient_metadata":` + nest(21, `1`) + `}`, "[metadata]"},
		{"a deeper value beside metadata", `{"metadata":{},"query":` + nest(40, `1`) + `}`, ""},
		{"brackets inside strings", `{"metadata":{"a":"` + strings.Repeat("{[", 50) + `\"{"}}`, ""},
		{"descriptor 21 levels (itself and 20 below)", `{"role_descriptors":{"r":` + nest(21, `1`) + `}}`, ""},
		{"descriptor 22 levels", `{"role_descriptors":{"r":` + nest(22, `1`) + `}}`, "below the descriptor"},
		{"descriptor metadata 20 levels", `{"role_descriptors":{"r":{"metadata":` + nest(20, `1`) + `}}}`, ""},
		{"descriptor metadata 21 levels", `{"role_descriptors":{"r":{"metadata":` + nest(21, `1`) + `}}}`, "[metadata]"},
		{"grant's descriptors", `{"api_keys":[{"role_descriptors":{"r":` + nest(22, `1`) + `}}]}`, "below the descriptor"},
		{"body 128 levels", nest(128, `1`), ""},
		{"body 129 levels", nest(129, `1`), "128 levels"},
		{"body 9,999 levels", nest(9999, `1`), "128 levels"},
		{"unterminated", `{"metadata`, ""},
		{"unbalanced", `}}]]{"a":1}`, ""},
	}
	for _, c := range cases {
		err := CheckBodyDepth([]byte(c.body))
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refusal != "" && (!IsKind(err, KindInvalid) || !strings.Contains(ReasonOf(err), c.refusal)):
			t.Errorf("%s: %v, want a refusal naming %q", c.name, err, c.refusal)
		}
	}
	if err := CheckDescriptorDepth([]byte(nest(21, `1`))); err != nil {
		t.Errorf("a role 21 levels deep (20 below it): %v", err)
	}
	if err := CheckDescriptorDepth([]byte(nest(22, `1`))); err == nil {
		t.Error("a role 22 levels deep was taken")
	}
}

// depthOf is the nesting of a decoded JSON value.
func depthOf(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			d = max(d, depthOf(c))
		}
		return d + 1
	case []any:
		for _, c := range x {
			d = max(d, depthOf(c))
		}
		return d + 1
	}
	return 0
}

// FuzzCheckBodyDepth: on valid JSON the scan never takes a body deeper
// than MaxBodyDepth, and never refuses one within MaxMetadataDepth; on
// anything it neither panics nor refuses other than as invalid.
func FuzzCheckBodyDepth(f *testing.F) {
	f.Add([]byte(`{"metadata":` + nest(21, `"x"`) + `}`))
	f.Add([]byte(`{"role_descriptors":{"r":{"indices":[{"query":{"a":[]}}]}}}`))
	f.Add([]byte(`["\"{",{"a\\":[]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckBodyDepth(b)
		if err != nil && !IsKind(err, KindInvalid) {
			t.Fatalf("%v", err)
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		d := depthOf(v)
		if err == nil && d > MaxBodyDepth || err != nil && d <= MaxMetadataDepth {
			t.Fatalf("depth %d: %v", d, err)
		}
	})
}

// TestABodyOfTheWrongTypeIsExplainedInJSONTerms: a reason names the JSON
// type a field must hold ("array", "object"), never a Go type of ours
// ("[]domain.KeyID", "cloud.createRequest").
func TestABodyOfTheWrongTypeIsExplainedInJSONTerms(t *testing.T) {
	type body struct {
		IDs      []KeyID        `json:"ids"`
		Name     string         `json:"name"`
		Count    int            `json:"count"`
		Active   bool           `json:"active"`
		Metadata map[string]any `json:"metadata"`
		Expires  *float64       `json:"expires"`
		Cause    error          `json:"cause"` // an interface: not a number
	}
	for in, want := range map[string]string{
		`[1]`:                 "expected object",
		`{"ids": "k1"}`:       "field [ids] must be of type array",
		`{"ids": [1]}`:        "field [ids] must be of type string",
		`{"name": 1}`:         "field [name] must be of type string",
		`{"count": "1"}`:      "field [count] must be of type number",
		`{"active": "yes"}`:   "field [active] must be of type boolean",
		`{"metadata": []}`:    "field [metadata] must be of type object",
		`{"expires": "soon"}`: "field [expires] must be of type number",
		`{"cause": 1}`:        "field [cause] must be of type a JSON value",
	} {
		var b body
		if got := JSONReason(json.Unmarshal([]byte(in), &b)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
