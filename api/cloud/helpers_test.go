package cloud_test

import (
	"os"
	"testing"

	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// owner is the bootstrap owner's Basic credential.
var owner = testhttp.Basic(testapp.Owner + ":" + testapp.Password)

// keysURL is Elastic Cloud's API keys API of a running keyplane.
func keysURL(a *app.App) string { return a.URL() + "/api/v1/users/auth/keys" }

// call sends a request to the API as auth (an Authorization value).
func call(t testing.TB, method, url, auth string, body any) testhttp.Response {
	t.Helper()
	return testhttp.ES(t, method, url, auth, body)
}

// apiKey is the Authorization value of an Elastic Cloud key's credential.
func apiKey(key string) string { return "ApiKey " + key }

// cloudCode is the first error code of an answer in Elastic Cloud's shape.
func cloudCode(r testhttp.Response) string {
	errs, _ := r.Body["errors"].([]any)
	if len(errs) != 1 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	msg, _ := e["message"].(string)
	if msg == "" {
		return ""
	}
	code, _ := e["code"].(string)
	return code
}

// createKey creates a key as auth and returns the answer (201 or a failure).
func createKey(t testing.TB, a *app.App, auth string, body map[string]any) testhttp.Response {
	t.Helper()
	return call(t, "POST", keysURL(a), auth, body)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ecctlBin.dir != "" {
		_ = os.RemoveAll(ecctlBin.dir)
	}
	os.Exit(code)
}
