package rest

import (
	_ "embed"
	"net/http"
)

// OpenAPIDocument is the OpenAPI 3.1 document of this API (openapi.json
// beside this file), served at GET /api/v1/openapi.json without
// credentials. The tests hold it to the code: internal/testhttp validates
// every request and answer of the console API's test suite against it.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// serveOpenAPI answers the document.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPIDocument)
}
