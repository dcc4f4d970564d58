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
// kin-openapi's openapi3filter does the validation (OpenAPI 3.1, with
// JSON Schema 2020-12): it is used by tests only, never by keyplane itself.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/keyplane/keyplane/api/rest"
)

// DocumentPrefix is the part of the URL space the document describes.
const DocumentPrefix = "/api/v1/"

// Document is a loaded OpenAPI document that checks exchanges with the server.
type Document struct {
	doc    *openapi3.T
	router routers.Router
}

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
	return &Document{doc: doc, router: r}, nil
}

var filterOptions = &openapi3filter.Options{
	// keyplane authenticates; the document only names the schemes.
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
}

// checkOpenAPI fails t when a request to /api/v1 and its answer disagree
// with the document (the rules above). body is the request's body.
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, status int, header http.Header, raw []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, DocumentPrefix) {
		return
	}
	d, err := loadDoc()
	if err != nil {
		t.Fatal(err)
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
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && d.isError(raw) == nil {
			return nil
		}
		return fmt.Errorf("the route is not in the document (%v)", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: filterOptions}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil {
		reqErr = undeclaredQuery(route, r)
	}
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("the document refuses the request (%v), the server did not", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: filterOptions}
	out.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the answer is not as documented: %w", err)
	}
	return nil
}

// isError checks raw against the document's error shape.
func (d *Document) isError(raw []byte) error {
	s := d.doc.Components.Schemas["Error"]
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return s.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
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
