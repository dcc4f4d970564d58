package testhttp

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/internal/testapp"
)

// BenchmarkCheckAListOfTwentyKeys: checking one answer (a list of 20
// keys) with openapi3filter validating the body, which compiles its schema
// on every call (the baseline), and with Check, which compiles each schema
// once. Run: go test -run '^$' -bench CheckAList -benchtime 200x ./internal/testhttp
func BenchmarkCheckAListOfTwentyKeys(b *testing.B) {
	a := testapp.Start(b)
	auth := Basic(testapp.Owner + ":" + testapp.Password)
	for i := 0; i < 20; i++ {
		Do(b, "POST", a.URL()+"/api/v1/orgs/default/api-keys", map[string]any{"name": "k"}, "Authorization", auth).Must(b, 201)
	}
	req, _ := http.NewRequest("GET", a.URL()+"/api/v1/orgs/default/api-keys", nil)
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	d, err := LoadOpenAPI(rest.OpenAPIDocument)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("openapi3filter", func(b *testing.B) {
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
		route, params, err := d.router.FindRoute(req)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts}
			out.SetBodyBytes(raw)
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := d.Check(req, nil, res.StatusCode, res.Header, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
