package es

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// esCommonParams are accepted by every API of the Elasticsearch surface.
var esCommonParams = map[string]bool{"pretty": true, "human": true, "error_trace": true, "filter_path": true, "format": true}

// esParams refuses query parameters an API does not know, as Elasticsearch
// does ("contains unrecognized parameter"), so a typo is not silently
// ignored.
func esParams(r *http.Request, allowed ...string) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	for k := range r.URL.Query() {
		if esCommonParams[k] || slices.Contains(allowed, k) {
			continue
		}
		return domain.Invalid("request [%s] contains unrecognized parameter: [%s]", r.URL.Path, k)
	}
	return nil
}

// decodeCommand reads a command's JSON body into v, refusing any query
// parameter but the common ones and refresh.
func (x *esReq) decodeCommand(v any) error {
	if err := esParams(x.r, "refresh"); err != nil {
		return err
	}
	return httpx.DecodeBody(x.r, v, false)
}

// putBody reads the raw body of a put (of roles, of privileges), refusing
// any query parameter but the common ones and refresh, and then checks that
// the caller may do action.
func (x *esReq) putBody(action string) ([]byte, error) {
	if err := esParams(x.r, "refresh"); err != nil {
		return nil, err
	}
	raw, err := httpx.ReadBody(x.r)
	if err != nil {
		return nil, err
	}
	return raw, x.authorize(action, false)
}

// esBool reads a boolean query parameter: absent is def, present without
// a value is true.
func esBool(r *http.Request, name string, def bool) (bool, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	switch q.Get(name) {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, domain.Invalid("Failed to parse value [%s] as only [true] or [false] are allowed for [%s]", q.Get(name), name)
}

// esMediaType is the content type of answers: the client's
// application/vnd.elasticsearch+json;compatible-with=N when it asked for
// it, plain JSON otherwise.
func esMediaType(r *http.Request) string {
	if a := r.Header.Get("Accept"); strings.Contains(a, "vnd.elasticsearch+json") {
		if _, v, ok := strings.Cut(a, "compatible-with="); ok && len(v) > 0 {
			return "application/vnd.elasticsearch+json;compatible-with=" + strings.TrimSpace(strings.Split(v, ",")[0])
		}
	}
	return "application/json"
}

// esWrite answers v as JSON (indented with ?pretty, filtered with
// ?filter_path). HEAD gets the headers only.
func esWrite(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		if _, pretty := q["pretty"]; pretty {
			enc.SetIndent("", "  ")
		}
		if fp := q.Get("filter_path"); fp != "" {
			v = filterPath(r.Context(), v, strings.Split(fp, ","))
		}
	}
	if err := enc.Encode(v); err != nil {
		slog.Error("encode response", "err", err)
	}
	w.Header().Set("Content-Type", esMediaType(r))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, &buf)
	}
}

// esProduct is the X-Elastic-Product header of every answer of the
// Elasticsearch surface, one shared value set without canonicalizing, like
// httpx.JSONContentType: nothing appends to it.
var esProduct = []string{"Elasticsearch"}

// MarkUnrouted gives the mux's 404 and 405 answers outside the console
// and its API the Elasticsearch product header: clients of the
// Elasticsearch surface check it on every answer.
func MarkUnrouted(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/console") &&
		p != "/healthz" && p != "/readyz" && p != "/metrics" {
		w.Header()["X-Elastic-Product"] = esProduct
	}
}
