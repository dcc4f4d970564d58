package authn

import (
	"encoding/base64"
	"testing"
)

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseNamesEachSchemeWhateverItsCase(t *testing.T) {
	tests := []struct {
		name, header string
		want         Credentials
	}{
		{"no header", "", Credentials{}},
		{"ApiKey", "ApiKey abc", Credentials{APIKey, "ApiKey", "abc"}},
		{"APIKey as the Go client sends it", "APIKey abc", Credentials{APIKey, "APIKey", "abc"}},
		{"basic in lower case", "basic abc", Credentials{Basic, "basic", "abc"}},
		{"Bearer with spaces around the value", "Bearer   tok  ", Credentials{Bearer, "Bearer", "tok"}},
		{"another scheme", "Negotiate abc", Credentials{OtherScheme, "Negotiate", "abc"}},
		{"a header without a scheme", " abc", Credentials{OtherScheme, "", "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.header); got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.header, got, tt.want)
			}
		})
	}
}

func TestBasicCredentialsWithoutAColonOrNotBase64AreRefused(t *testing.T) {
	for _, v := range []string{"Basic " + b64std("no-colon"), "Basic !!!"} {
		if _, _, err := Parse(v).BasicAuth(); err == nil || err.Error() == "" {
			t.Fatalf("%q: %v, want refused", v, err)
		}
	}
	name, pw, err := Parse("Basic " + b64std("ann:pass:word")).BasicAuth()
	if err != nil || name != "ann" || pw != "pass:word" {
		t.Fatalf("got %q %q %v, want ann and pass:word", name, pw, err)
	}
}
