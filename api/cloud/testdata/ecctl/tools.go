//go:build tools

// Package ecctl pins Elastic's ecctl v1.15.0 for the tests of api/cloud,
// which `go build github.com/elastic/ecctl` in this module (go.mod and
// go.sum hold every module it needs, checked against the checksum
// database): `go install ...@v1.15.0` is refused by the module proxy,
// which does not list ecctl's versions.
package ecctl

import _ "github.com/elastic/ecctl"
