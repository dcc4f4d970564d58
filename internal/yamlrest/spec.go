package yamlrest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// API is one REST API specification (one JSON file of the
// rest-api-spec/api directory).
type API struct {
	Name   string
	Paths  []APIPath
	Params map[string]APIParam
	// Body is nil when the API takes no body.
	Body *APIBody
	// Accept and ContentType are the spec's "headers" entries.
	Accept      []string
	ContentType []string
}

// APIPath is one URL template of an API with the methods it accepts.
type APIPath struct {
	Path    string
	Methods []string
	Parts   map[string]APIParam
}

// APIParam describes a path part or a query parameter.
type APIParam struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// APIBody describes the request body of an API.
type APIBody struct {
	Required  bool   `json:"required"`
	Serialize string `json:"serialize"` // "bulk" for newline-delimited JSON
}

// commonParams are accepted by every Elasticsearch API (_common.json).
var commonParams = []string{"pretty", "human", "error_trace", "source", "filter_path"}

type specFile struct {
	Headers struct {
		Accept      []string `json:"accept"`
		ContentType []string `json:"content_type"`
	} `json:"headers"`
	URL struct {
		Paths []struct {
			Path    string              `json:"path"`
			Methods []string            `json:"methods"`
			Parts   map[string]APIParam `json:"parts"`
		} `json:"paths"`
	} `json:"url"`
	Params map[string]APIParam `json:"params"`
	Body   *APIBody            `json:"body"`
}

// LoadSpecs reads every *.json API spec in dir, keyed by API name
// (e.g. "security.put_role"). _common.json, if present, adds parameters to
// every API.
func LoadSpecs(dir string) (map[string]*API, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("yamlrest: no API spec (*.json) in %s", dir)
	}
	apis := map[string]*API{}
	var common map[string]APIParam
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if filepath.Base(f) == "_common.json" {
			var c struct {
				Params map[string]APIParam `json:"params"`
			}
			if err := json.Unmarshal(data, &c); err != nil {
				return nil, fmt.Errorf("yamlrest: %s: %w", f, err)
			}
			common = c.Params
			continue
		}
		var raw map[string]specFile
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("yamlrest: %s: %w", f, err)
		}
		for name, sf := range raw {
			api := &API{Name: name, Params: sf.Params, Body: sf.Body,
				Accept: sf.Headers.Accept, ContentType: sf.Headers.ContentType}
			if api.Params == nil {
				api.Params = map[string]APIParam{}
			}
			for _, p := range sf.URL.Paths {
				api.Paths = append(api.Paths, APIPath{Path: p.Path, Methods: p.Methods, Parts: p.Parts})
			}
			if len(api.Paths) == 0 {
				return nil, fmt.Errorf("yamlrest: %s: API %s has no url.paths", f, name)
			}
			apis[name] = api
		}
	}
	for _, api := range apis {
		for k, v := range common {
			if _, ok := api.Params[k]; !ok {
				api.Params[k] = v
			}
		}
	}
	return apis, nil
}

// builtRequest is an HTTP request derived from an API call of a `do` step.
type builtRequest struct {
	method      string
	path        string // escaped path
	query       url.Values
	body        []byte
	hasBody     bool
	contentType string
	accept      string
	// problems are client-side parameter errors (what `catch: param`
	// expects). fatal ones prevent sending the request.
	problems []string
	fatal    bool
}

// buildRequest chooses the URL template and method and encodes parameters
// and body. args must already have stash references replaced and must not
// contain "ignore".
func (api *API) buildRequest(args map[string]any) *builtRequest {
	req := &builtRequest{query: url.Values{}}
	body, hasBody := args["body"]

	// Choose the paths whose parts are all given, preferring the most parts.
	best := -1
	var candidates []APIPath
	for _, p := range api.Paths {
		ok := true
		for part := range p.Parts {
			if v, given := args[part]; !given || v == nil {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		switch {
		case len(p.Parts) > best:
			best = len(p.Parts)
			candidates = []APIPath{p}
		case len(p.Parts) == best:
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		var need []string
		for _, p := range api.Paths {
			need = append(need, p.Path)
		}
		req.problems = append(req.problems, fmt.Sprintf("no path of %s can be built from the given arguments %s (paths: %s)",
			api.Name, argNames(args), strings.Join(need, ", ")))
		req.fatal = true
		return req
	}

	// Method: the first one listed; with a body, POST rather than GET.
	var methods []string
	for _, c := range candidates {
		for _, m := range c.Methods {
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
	}
	req.method = methods[0]
	if hasBody && (req.method == "GET" || req.method == "HEAD") && slices.Contains(methods, "POST") {
		req.method = "POST"
	}
	chosen := candidates[0]
	for _, c := range candidates {
		if slices.Contains(c.Methods, req.method) {
			chosen = c
			break
		}
	}

	// Path.
	path := chosen.Path
	for part := range chosen.Parts {
		path = strings.ReplaceAll(path, "{"+part+"}", escapePart(args[part]))
	}
	req.path = path

	// Query parameters: everything else.
	for _, k := range sortedKeys(args) {
		if k == "body" {
			continue
		}
		if _, isPart := chosen.Parts[k]; isPart {
			continue
		}
		if _, known := api.Params[k]; !known && !slices.Contains(commonParams, k) && !api.isPart(k) {
			req.problems = append(req.problems, fmt.Sprintf("param [%s] not supported by [%s] api", k, api.Name))
		}
		req.query.Set(k, stringify(args[k]))
	}
	for k, p := range api.Params {
		if _, given := args[k]; p.Required && !given {
			req.problems = append(req.problems, fmt.Sprintf("required param [%s] missing for [%s] api", k, api.Name))
		}
	}

	// Body.
	if api.Body != nil && api.Body.Required && !hasBody {
		req.problems = append(req.problems, fmt.Sprintf("body is required by [%s] api", api.Name))
		req.fatal = true
	}
	if hasBody {
		if api.Body == nil {
			req.problems = append(req.problems, fmt.Sprintf("body is not supported by [%s] api", api.Name))
		}
		bulk := api.Body != nil && api.Body.Serialize == "bulk"
		b, ct, err := encodeBody(body, bulk)
		if err != nil {
			req.problems = append(req.problems, err.Error())
			req.fatal = true
			return req
		}
		req.body, req.contentType, req.hasBody = b, ct, true
	}
	if len(api.Accept) > 0 {
		req.accept = api.Accept[0]
	}
	return req
}

func (api *API) isPart(name string) bool {
	for _, p := range api.Paths {
		if _, ok := p.Parts[name]; ok {
			return true
		}
	}
	return false
}

func argNames(args map[string]any) string {
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	return "[" + strings.Join(names, ", ") + "]"
}

// escapePart URL-encodes a path part value; list elements are joined with
// commas (which stay unescaped, as in Elasticsearch URLs).
func escapePart(v any) string {
	var items []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			items = append(items, stringify(e))
		}
	} else {
		items = strings.Split(stringify(v), ",")
	}
	for i, s := range items {
		items[i] = escapeSegment(s)
	}
	return strings.Join(items, ",")
}

func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~*:@!$'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jsonLines is a body given as text holding several JSON documents.
type jsonLines []any

// prepareBody turns a `body` argument into the value to send: JSON text is
// parsed first and stash references are then replaced inside it (so a
// "$id" string value becomes the stashed value with its type).
func (st stash) prepareBody(body any) (any, error) {
	s, ok := body.(string)
	if !ok {
		return st.replace(body)
	}
	docs, err := decodeJSONDocs(s)
	if err != nil {
		return st.replace(s) // not JSON: plain text
	}
	out := make(jsonLines, len(docs))
	for i, d := range docs {
		if out[i], err = st.replace(d); err != nil {
			return nil, err
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// encodeBody serialises a prepared body as JSON. Several documents, or a
// list or object for a "bulk" API, are sent as newline-delimited JSON; a
// plain string is sent as is.
func encodeBody(body any, bulk bool) ([]byte, string, error) {
	const jsonCT, ndjsonCT = "application/json", "application/x-ndjson"
	switch x := body.(type) {
	case jsonLines:
		return ndjson(x, ndjsonCT)
	case string:
		return []byte(x), jsonCT, nil
	case []any:
		if bulk {
			return ndjson(x, ndjsonCT)
		}
	case map[string]any:
		if bulk {
			return ndjson([]any{x}, ndjsonCT)
		}
	}
	b, err := marshal(body)
	return b, jsonCT, err
}

func ndjson(docs []any, ct string) ([]byte, string, error) {
	var buf bytes.Buffer
	for _, d := range docs {
		if s, ok := d.(string); ok {
			buf.WriteString(strings.TrimSpace(s))
		} else {
			b, err := marshal(d)
			if err != nil {
				return nil, "", err
			}
			buf.Write(b)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), ct, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot encode body as JSON: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// decodeJSONDocs decodes one or more concatenated JSON values (numbers are
// kept as json.Number).
func decodeJSONDocs(s string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
	if len(docs) == 0 {
		return nil, errors.New("empty")
	}
	return docs, nil
}
