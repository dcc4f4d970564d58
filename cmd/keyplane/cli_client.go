package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// apiClient speaks the console REST API (/api/v1) for the terminal client:
// one server, one credential, as `keyplane keys ...` was given them.
type apiClient struct {
	base string
	auth string
	http *http.Client
}

// newAPIClient reads the credential from the environment: KEYPLANE_API_KEY
// (the encoded credential a create prints), or KEYPLANE_USER and
// KEYPLANE_PASSWORD. Without either, requests go without one and the
// server says why it refuses them.
func newAPIClient(base string) *apiClient {
	c := &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	if k := os.Getenv("KEYPLANE_API_KEY"); k != "" {
		c.auth = "ApiKey " + k
	} else if u := os.Getenv("KEYPLANE_USER"); u != "" {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+os.Getenv("KEYPLANE_PASSWORD")))
	}
	return c
}

// apiError is an answer of 400 or above: its status and the reason from
// the error's body (Elasticsearch's shape), or the body itself.
type apiError struct {
	status int
	reason string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.reason, e.status) }

// call sends one request (body nil: none; otherwise JSON) and returns the
// answer's body; accept "" asks for JSON.
func (c *apiClient) call(ctx context.Context, method, path string, query url.Values, body any, accept string) ([]byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 400 {
		return nil, &apiError{status: res.StatusCode, reason: reasonOf(raw, res.Status)}
	}
	return raw, nil
}

// reasonOf is the reason of an error body: Elasticsearch's
// {"error":{"reason"}}, or the raw body, or the status line.
func reasonOf(raw []byte, status string) string {
	var e struct {
		Error struct {
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error.Reason != "" {
		return e.Error.Reason
	}
	if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 500 {
		return s
	}
	return status
}

// pathEsc escapes one path segment given by the user (an id or a name).
func pathEsc(s string) string { return url.PathEscape(s) }
