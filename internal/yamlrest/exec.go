package yamlrest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// testRun is the state of one test: stash and last response.
type testRun struct {
	r     *Runner
	ctx   context.Context
	stash stash
	last  *response
}

// response is the last HTTP response of a test.
type response struct {
	method string
	target string // path and query, for messages
	status int
	header http.Header
	raw    []byte
	body   any // parsed JSON (numbers as json.Number), or the text
	isJSON bool
}

// summary is a short description used in failure reasons.
func (resp *response) summary() string {
	return fmt.Sprintf("%s %s -> %d %s", resp.method, resp.target, resp.status, excerpt(resp.raw, 400))
}

func excerpt(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "(empty body)"
	}
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "..."
	}
	return s
}

// runSection runs the steps of sec (skip/requires steps were evaluated
// before). prefix is "setup ", "teardown " or "" and names the section in
// failure reasons.
func (x *testRun) runSection(sec *section, prefix string) error {
	if sec == nil {
		return nil
	}
	for i, st := range sec.steps {
		if st.kind == "skip" || st.kind == "requires" {
			continue
		}
		if err := x.ctx.Err(); err != nil {
			return fmt.Errorf("%sstep %d (line %d, %s): %v", prefix, i+1, st.line, describe(st), err)
		}
		var err error
		if st.kind == "do" {
			err = x.runDo(st.do)
		} else {
			err = x.runAssertion(st)
			if err != nil && x.last != nil {
				err = fmt.Errorf("%v [last response: %s]", err, x.last.summary())
			}
		}
		if err != nil {
			return fmt.Errorf("%sstep %d (line %d, %s): %v", prefix, i+1, st.line, describe(st), err)
		}
	}
	return nil
}

func describe(st *step) string {
	switch {
	case st.do != nil:
		return "do " + st.do.api
	case st.value.Kind == yaml.ScalarNode:
		return st.kind + " " + st.value.Value
	case len(st.value.Content) >= 2:
		return st.kind + " " + st.value.Content[0].Value
	}
	return st.kind
}

var catchStatus = map[string]int{
	"bad_request":       400,
	"unauthorized":      401,
	"forbidden":         403,
	"missing":           404,
	"request_timeout":   408,
	"conflict":          409,
	"too_many_requests": 429,
	"unavailable":       503,
}

func (x *testRun) runDo(d *doStep) error {
	specs, err := x.r.loadSpecs()
	if err != nil {
		return err
	}
	api := specs[d.api]
	if api == nil {
		return fmt.Errorf("unknown API %q: no spec for it in %s", d.api, x.r.SpecDir)
	}

	// Arguments, with stash references replaced. "ignore" is a client option.
	ignore := append([]any(nil), d.ignore...)
	args := make(map[string]any, len(d.args))
	for k, v := range d.args {
		if v == nil {
			continue // `param: null` means the parameter is not given
		}
		if k == "ignore" {
			ignore = append(ignore, asList(v)...)
			continue
		}
		var nv any
		var err error
		if k == "body" {
			nv, err = x.stash.prepareBody(v)
		} else {
			nv, err = x.stash.replace(v)
		}
		if err != nil {
			return fmt.Errorf("argument %s: %v", k, err)
		}
		args[k] = nv
	}
	ignored := map[int]bool{}
	for _, v := range ignore {
		code, err := strconv.Atoi(strings.TrimSpace(stringify(v)))
		if err != nil {
			return fmt.Errorf("ignore: %q is not a status code", stringify(v))
		}
		ignored[code] = true
	}

	req := api.buildRequest(args)
	if d.catch == "param" {
		if len(req.problems) > 0 {
			x.logf("    (client-side error, as expected by catch: param: %s)", strings.Join(req.problems, "; "))
			return nil
		}
		return fmt.Errorf("expected a client-side parameter error (catch: param) but %s %s is a valid request",
			req.method, req.target())
	}
	if req.fatal {
		return fmt.Errorf("cannot build request: %s", strings.Join(req.problems, "; "))
	}
	for _, p := range req.problems {
		x.logf("    (warning: %s; sending anyway)", p)
	}

	header := http.Header{}
	if req.accept != "" {
		header.Set("Accept", req.accept)
	}
	if req.hasBody {
		header.Set("Content-Type", req.contentType)
	}
	for k, vs := range x.r.DefaultHeaders {
		header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	for _, k := range sortedKeys(d.headers) {
		v, err := x.stash.replace(d.headers[k])
		if err != nil {
			return fmt.Errorf("header %s: %v", k, err)
		}
		header.Set(k, stringify(v))
	}

	resp, err := x.send(req, header)
	if err != nil {
		return err
	}
	x.last = resp
	x.stash["body"] = resp.body

	switch c := d.catch; {
	case c == "":
		if resp.status >= 400 && !ignored[resp.status] && !(resp.method == http.MethodHead && resp.status == 404) {
			return fmt.Errorf("%s %s returned %d, expected success; body: %s",
				resp.method, resp.target, resp.status, excerpt(resp.raw, 600))
		}
	case catchStatus[c] != 0:
		if resp.status != catchStatus[c] {
			return fmt.Errorf("expected status %d (catch: %s), %s %s returned %d; body: %s",
				catchStatus[c], c, resp.method, resp.target, resp.status, excerpt(resp.raw, 600))
		}
	case c == "request":
		if resp.status < 400 {
			return fmt.Errorf("expected an error status (catch: request), %s %s returned %d; body: %s",
				resp.method, resp.target, resp.status, excerpt(resp.raw, 600))
		}
	default:
		pat, ok := regexLiteral(c)
		if !ok {
			return fmt.Errorf("unsupported catch value %q", c)
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return fmt.Errorf("catch: invalid regex %q: %v", pat, err)
		}
		if resp.status < 400 {
			return fmt.Errorf("expected an error matching %s, %s %s returned %d; body: %s",
				c, resp.method, resp.target, resp.status, excerpt(resp.raw, 600))
		}
		if !re.Match(resp.raw) {
			return fmt.Errorf("error body does not match %s: %s %s returned %d; body: %s",
				c, resp.method, resp.target, resp.status, excerpt(resp.raw, 600))
		}
	}
	return nil
}

func (req *builtRequest) target() string {
	if len(req.query) == 0 {
		return req.path
	}
	return req.path + "?" + req.query.Encode()
}

func (x *testRun) send(req *builtRequest, header http.Header) (*response, error) {
	target := req.target()
	var body io.Reader
	if req.hasBody {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(x.ctx, req.method, strings.TrimRight(x.r.BaseURL, "/")+target, body)
	if err != nil {
		return nil, fmt.Errorf("cannot create request %s %s: %v", req.method, target, err)
	}
	hr.Header = header
	if x.r.Verbose {
		x.logf("    > %s %s", req.method, target)
		for _, k := range sortedHeaderKeys(header) {
			x.logf("    > %s: %s", k, strings.Join(header[k], ", "))
		}
		if req.hasBody {
			x.logf("    > %s", truncate(string(req.body), 4000))
		}
	}
	hresp, err := x.r.client().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s failed: %v", req.method, target, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(hresp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading response: %v", req.method, target, err)
	}
	x.logf("    < %d %s", hresp.StatusCode, truncate(string(raw), 4000))
	resp := &response{method: req.method, target: target, status: hresp.StatusCode, header: hresp.Header, raw: raw}
	resp.body, resp.isJSON = parseResponseBody(raw, hresp.Header.Get("Content-Type"))
	return resp, nil
}

func sortedHeaderKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseResponseBody parses a JSON body (numbers kept as json.Number);
// anything else is returned as text.
func parseResponseBody(raw []byte, contentType string) (any, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", false
	}
	if strings.Contains(contentType, "json") || t[0] == '{' || t[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil && !dec.More() {
			return v, true
		}
	}
	return string(raw), false
}

func (x *testRun) logf(format string, args ...any) {
	if x.r.Verbose {
		fmt.Fprintf(x.r.out(), format+"\n", args...)
	}
}
