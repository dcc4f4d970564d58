package yamlrest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeServer implements the test.* APIs of testdata/api.
type fakeServer struct {
	mu    sync.Mutex
	items map[string]any
	log   []string
}

func newFakeServer(t *testing.T) (*fakeServer, *httptest.Server) {
	f := &fakeServer{items: map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeServer) logged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func esError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"type": typ, "reason": reason},
		"status": status,
	})
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, _ := io.ReadAll(r.Body)
	var body any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			body = nil
		}
	}
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/_echo"):
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		q := map[string]any{}
		for k, v := range r.URL.Query() {
			q[k] = strings.Join(v, "|")
		}
		resp := map[string]any{
			"method": r.Method,
			"path":   r.URL.EscapedPath(),
			"query":  q,
			"headers": map[string]any{
				"authorization": r.Header.Get("Authorization"),
				"x-test":        r.Header.Get("X-Test"),
				"content-type":  r.Header.Get("Content-Type"),
				"accept":        r.Header.Get("Accept"),
			},
			"raw_body": string(raw),
			"body":     body,
			"numbers":  map[string]any{"int": 3, "float": 2.5, "big": int64(1712345678901), "zero": 0},
			"dotted":   map[string]any{"a.b": "dot", "nested": map[string]any{"only": "one"}},
			"list":     []any{"x", "y", map[string]any{"k": 1, "j": "two"}},
			"empty":    map[string]any{"str": "", "list": []any{}, "false": false, "null": nil, "zero_str": "0"},
			"text":     "The quick brown fox\njumps",
		}
		if status >= 400 {
			resp["error"] = map[string]any{"type": "echo_exception", "reason": "status " + strconv.Itoa(status) + " requested"}
		}
		writeJSON(w, status, resp)

	case path == "/_log" && r.Method == http.MethodPost:
		f.log = append(f.log, r.URL.Query().Get("msg"))
		writeJSON(w, 200, map[string]any{"acknowledged": true, "count": len(f.log)})

	case strings.HasPrefix(path, "/_items/"):
		id := strings.TrimPrefix(path, "/_items/")
		switch r.Method {
		case http.MethodPut, http.MethodPost:
			if body == nil {
				esError(w, 400, "parse_exception", "request body is required")
				return
			}
			result := "created"
			if _, ok := f.items[id]; ok {
				result = "updated"
			}
			f.items[id] = body
			writeJSON(w, 200, map[string]any{"_id": id, "result": result})
		case http.MethodGet:
			it, ok := f.items[id]
			if !ok {
				esError(w, 404, "resource_not_found_exception", "item ["+id+"] missing")
				return
			}
			writeJSON(w, 200, map[string]any{"_id": id, "_source": it})
		case http.MethodDelete:
			if _, ok := f.items[id]; !ok {
				esError(w, 404, "resource_not_found_exception", "item ["+id+"] missing")
				return
			}
			delete(f.items, id)
			writeJSON(w, 200, map[string]any{"_id": id, "result": "deleted"})
		}

	case path == "/_key":
		m, _ := body.(map[string]any)
		name, _ := m["name"].(string)
		id, key := "key-"+name, "secret-"+name
		writeJSON(w, 200, map[string]any{"id": id, "name": name, "api_key": key,
			"encoded": base64.StdEncoding.EncodeToString([]byte(id + ":" + key))})

	case path == "/_authenticate":
		auth := r.Header.Get("Authorization")
		switch {
		case strings.HasPrefix(auth, "ApiKey "):
			dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "ApiKey "))
			id, key, _ := strings.Cut(string(dec), ":")
			if err != nil || key != "secret-"+strings.TrimPrefix(id, "key-") {
				esError(w, 401, "security_exception", "bad api key")
				return
			}
			writeJSON(w, 200, map[string]any{"username": "key-owner", "api_key": map[string]any{"id": id},
				"authentication_type": "api_key"})
		case strings.HasPrefix(auth, "Basic "):
			dec, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
			user, _, _ := strings.Cut(string(dec), ":")
			writeJSON(w, 200, map[string]any{"username": user, "authentication_type": "realm"})
		default:
			esError(w, 401, "security_exception", "missing authentication credentials")
		}

	case path == "/_bulk":
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		writeJSON(w, 200, map[string]any{"lines": len(lines), "content_type": r.Header.Get("Content-Type"),
			"ends_with_newline": strings.HasSuffix(string(raw), "\n"), "first": lines[0]})

	default:
		esError(w, 404, "no_handler", "no handler for "+r.Method+" "+path)
	}
}
