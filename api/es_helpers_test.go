package api_test

import (
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

// The short names this package's tests use for the shared starter (testapp)
// and client (testhttp); the helpers themselves live there, not here.

const ownerAuth = testapp.Owner + ":" + testapp.Password

type esResp = testhttp.Response

var (
	basic      = testhttp.Basic
	startApp   = testapp.Start
	startAppIn = testapp.StartIn
	esDo       = testhttp.ES
)
