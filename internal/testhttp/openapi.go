package testhttp

// Every request a test sends to the console REST API (/api/v1) through Do
// or Call, and its answer, are checked against the OpenAPI document the
// server serves (api/rest/openapi.json), so that the document cannot drift
// from the code unnoticed:
//   - a request the document allows must be answered as it says (status,
//     content type, body schema; the answers' schemas allow no undocumented
//     field);
//   - a request it refuses (a bad parameter, body or an undeclared query
//     parameter) must be answered by a 4xx in the documented error shape:
//     a 2xx there means the server accepts something undocumented;
//   - a route it lacks may only be answered 404 or 405 in the error shape
//     (a test probing what does not exist); any other answer is a route
//     the document is missing.
// kin-openapi's openapi3filter finds the route and checks the parameters,
// statuses and headers; the bodies are checked with each schema of the
// document compiled once (JSON Schema 2020-12, as OpenAPI 3.1 has it),
// since openapi3filter compiles the schema again on every call (5 ms an
// answer). Both are used by tests only, never by keyplane itself.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/keyplane/keyplane/api/rest"
)

// DocumentPrefix is the part of the URL space the document describes.
const DocumentPrefix = "/api/v1/"

// notDescribed are the parts of /api/v1 the document leaves out: Elastic
// Cloud's API keys API (issue 26) speaks Elastic Cloud's shapes and
// errors, described by Elastic's own API reference, not keyplane's.
var notDescribed = []string{"/api/v1/users/auth/keys"}

// Described reports whether the document describes path's part of the API.
func Described(path string) bool {
	if !strings.HasPrefix(path, DocumentPrefix) {
		return false
	}
	for _, p := range notDescribed {
		if path == p || strings.HasPrefix(path, p+"/") {
			return false
		}
	}
	return true
}

// Document is a loaded OpenAPI document that checks exchanges with the
// server.
type Document struct {
	doc    *openapi3.T
	router routers.Router
	bodies *jsonschema.Compiler

	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema // by JSON pointer into the document
}

const docURL = "mem:///openapi.json"

var loadDoc = sync.OnceValues(func() (*Document, error) {
	return LoadOpenAPI(rest.OpenAPIDocument)
})

// LoadOpenAPI reads and checks an OpenAPI document and routes on it.
func LoadOpenAPI(data []byte) (*Document, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("api/rest/openapi.json does not load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api/rest/openapi.json is not a valid OpenAPI document: %w", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, raw); err != nil {
		return nil, err
	}
	return &Document{doc: doc, router: r, bodies: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

var filterOptions = &openapi3filter.Options{
	// keyplane authenticates; the document only names the schemes.
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	ExcludeRequestBody:    true, // checkBody
	ExcludeResponseBody:   true,
}

// checkOpenAPI fails t when a request to /api/v1 and its answer disagree
// with the document (the rules above). body is the request's body.
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, status int, header http.Header, raw []byte) {
	t.Helper()
	if !Described(req.URL.Path) {
		return
	}
	d, err := loadDoc()
	if err != nil {
		t.Error(err) // not Fatal: CheckingProxy calls this off the test's goroutine
		return
	}
	if err := d.Check(req, body, status, header, raw); err != nil {
		t.Errorf("OpenAPI (api/rest/openapi.json): %s %s answered %d: %v\nanswer: %.600s", req.Method, req.URL.RequestURI(), status, err, raw)
	}
}

// Check applies the rules above to one exchange.
func (d *Document) Check(req *http.Request, body []byte, status int, header http.Header, raw []byte) error {
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json") // what keyplane reads a body as
	}
	route, params, err := d.router.FindRoute(r)
	if err != nil {
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && d.checkBody("#/components/schemas/Error", raw) == nil {
			return nil
		}
		return fmt.Errorf("the route is not in the document (%v)", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: filterOptions}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil {
		reqErr = undeclaredQuery(route, r)
	}
	if reqErr == nil {
		reqErr = d.checkRequestBody(route, r.Header.Get("Content-Type"), body)
	}
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("the document refuses the request (%v), the server did not", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: filterOptions}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the answer is not as documented: %w", err)
	}
	if err := d.checkResponseBody(route, status, header.Get("Content-Type"), raw); err != nil {
		return fmt.Errorf("the answer is not as documented: %w", err)
	}
	return nil
}

// opPointer is the JSON pointer of the route's operation in the document.
func opPointer(route *routers.Route) string {
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	return "#/paths/" + esc.Replace(route.Path) + "/" + strings.ToLower(route.Method)
}

// mediaPointer finds the documented media type of content that matches
// contentType, as the pointer of its schema under base; "" when none.
func mediaPointer(base string, content openapi3.Content, contentType string) (string, bool) {
	mt, _, _ := mime.ParseMediaType(contentType)
	for name, m := range content {
		if name == mt {
			if m.Schema == nil {
				return "", true
			}
			return base + "/content/" + strings.ReplaceAll(name, "/", "~1") + "/schema", true
		}
	}
	return "", false
}

func (d *Document) checkRequestBody(route *routers.Route, contentType string, body []byte) error {
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		if len(bytes.TrimSpace(body)) > 0 {
			return errors.New("the operation takes no body")
		}
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if rb.Value.Required {
			return errors.New("the request body is required")
		}
		return nil
	}
	base := opPointer(route) + "/requestBody"
	if rb.Ref != "" {
		base = rb.Ref
	}
	ptr, ok := mediaPointer(base, rb.Value.Content, contentType)
	if !ok {
		return fmt.Errorf("request Content-Type %q is not documented", contentType)
	}
	return d.checkBody(ptr, body)
}

func (d *Document) checkResponseBody(route *routers.Route, status int, contentType string, raw []byte) error {
	rr := route.Operation.Responses.Status(status)
	if rr == nil || rr.Value == nil || len(rr.Value.Content) == 0 {
		return nil // ValidateResponse refused an undocumented status
	}
	base := fmt.Sprintf("%s/responses/%d", opPointer(route), status)
	if rr.Ref != "" {
		base = rr.Ref
	}
	ptr, ok := mediaPointer(base, rr.Value.Content, contentType)
	if !ok {
		return fmt.Errorf("response Content-Type %q is not documented", contentType)
	}
	if ptr == "" || !strings.HasPrefix(contentType, "application/json") {
		return nil // a CSV download: its media type is what is documented
	}
	return d.checkBody(ptr, raw)
}

// checkBody validates a JSON body against the schema at pointer ptr,
// compiled on first use.
func (d *Document) checkBody(ptr string, raw []byte) error {
	d.mu.Lock()
	s, ok := d.compiled[ptr]
	if !ok {
		var err error
		if s, err = d.bodies.Compile(docURL + ptr); err != nil {
			d.mu.Unlock()
			return fmt.Errorf("schema %s: %w", ptr, err)
		}
		d.compiled[ptr] = s
	}
	d.mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %v", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("the body does not match %s: %v", ptr, err)
	}
	return nil
}

// undeclaredQuery refuses a query parameter the operation does not
// declare: keyplane refuses them too (400), and a new one must be
// documented.
func undeclaredQuery(route *routers.Route, r *http.Request) error {
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	for name := range r.URL.Query() {
		if !declared[name] {
			return errors.New("undeclared query parameter [" + name + "]")
		}
	}
	return nil
}

// CheckingProxy serves on a loopback port and forwards every request to
// target (a base URL), checking each /api/v1 exchange against the
// document as Do does: for clients that are not Go test code, such as the
// keyplane binary as a terminal client. It stops when the test ends.
func CheckingProxy(t testing.TB, target string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		checkOpenAPI(t, out, body, res.StatusCode, res.Header, raw)
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
