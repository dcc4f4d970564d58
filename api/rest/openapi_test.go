package rest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// routeTable records the routes Mount adds.
type routeTable []string

func (r *routeTable) HandleFunc(pattern string, _ func(http.ResponseWriter, *http.Request)) {
	*r = append(*r, pattern)
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// TestTheOpenAPIDocumentHasEveryRouteAndNoOther: the document's
// operations are exactly the route table, both ways (a route added
// without documenting it, or documented and gone, fails here; the
// exchanges themselves are checked in internal/testhttp).
func TestTheOpenAPIDocumentHasEveryRouteAndNoOther(t *testing.T) {
	var rt routeTable
	New(Config{Trail: &Trail{}}).Mount(&rt)
	served := map[string]bool{}
	for _, p := range rt {
		served[pathParam.ReplaceAllString(p, "{}")] = true
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented[strings.ToUpper(method)+" "+pathParam.ReplaceAllString(path, "{}")] = true
			}
		}
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("api/rest/openapi.json and the route table differ:\nserved, not documented: %v\ndocumented, not served: %v", missing, extra)
	}
	if len(served) < 30 {
		t.Fatalf("only %d routes recorded", len(served))
	}
}
