package api

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/eventlog"
)

func TestReadinessWarnsWhatItCannotVouchFor(t *testing.T) {
	tests := []struct {
		name string
		h    eventlog.Health
		want []string // substrings, one per warning, in order
	}{
		{"embedded, fsync always", eventlog.Health{Embedded: true, Fsync: "always", Replicas: 1, Current: 1}, nil},
		{"embedded, fsync relaxed", eventlog.Health{Embedded: true, Fsync: "2m0s", Replicas: 1, Current: 1}, []string{"fsync relaxed to 2m0s"}},
		{"external R3, all current", eventlog.Health{Replicas: 3, Current: 3}, []string{"cannot confirm"}},
		{"external R1", eventlog.Health{Replicas: 1, Current: 1}, []string{"cannot confirm", "1 replica(s)"}},
		{"external R3, one behind", eventlog.Health{Replicas: 3, Current: 2}, []string{"cannot confirm", "only 2 of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := warnings(tt.h)
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d is %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCommandsAreNamedByRoute(t *testing.T) {
	tests := []struct {
		method, pattern, name string
		command               bool
	}{
		{"POST", "POST /api/v1/orgs/{org}/projects/{project}/api-keys", "create_key", true},
		{"DELETE", "DELETE /api/v1/orgs/{org}/api-keys/{id}", "invalidate_key", true},
		{"GET", "GET /api/v1/orgs/{org}/api-keys", "", false},
		{"POST", "POST /console/login", "", false},
		{"PUT", "PUT /_security/api_key/{id}", "PUT /_security/api_key/{id}", true},
		{"POST", "POST /api/v1/users/auth/keys", "create_key", true},
		{"DELETE", "DELETE /api/v1/users/auth/keys/{id}", "invalidate_key", true},
		{"DELETE", "DELETE /api/v1/users/auth/keys", "bulk_delete_keys", true},
		{"GET", "GET /api/v1/users/auth/keys", "", false},
	}
	for _, tt := range tests {
		name, ok := commandName(tt.method, tt.pattern)
		if name != tt.name || ok != tt.command {
			t.Errorf("%s: got %q %v, want %q %v", tt.pattern, name, ok, tt.name, tt.command)
		}
	}
}

func TestAnOverloadOnTheElasticCloudAPIIsAnsweredInItsShape(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tt := range []struct{ path, want string }{
		{"/api/v1/users/auth/keys", `"errors":[{"code":"root.unavailable"`},
		{"/api/v1/users/auth/keys/abc", `"errors":[{"code":"root.unavailable"`},
		{"/api/v1/orgs/default/api-keys", `"type":"unavailable_exception"`},
	} {
		rec := httptest.NewRecorder()
		s.writeError(rec, httptest.NewRequest("POST", tt.path, nil), errOverloaded)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %s, want 503 with Retry-After and %s", tt.path, rec.Code, rec.Body, tt.want)
		}
	}
}
