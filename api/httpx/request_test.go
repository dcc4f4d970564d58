package httpx

import (
	"net/http/httptest"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		name           string
		origin, fetchS string
		ok             bool
	}{
		{"no browser headers", "", "", true},
		{"same origin", "http://keyplane.test:9200", "same-origin", true},
		{"typed into the address bar", "", "none", true},
		{"another origin", "http://evil.example", "", false},
		{"another port", "http://keyplane.test:9300", "", false},
		{"opaque origin", "null", "", false},
		{"cross-site fetch", "", "cross-site", false},
		{"same-site but another origin", "", "same-site", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://keyplane.test:9200/api/v1/orgs", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchS != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchS)
			}
			if got := SameOrigin(r); got != tt.ok {
				t.Fatalf("SameOrigin = %v, want %v", got, tt.ok)
			}
		})
	}
}
