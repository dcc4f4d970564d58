// Package web is keyplane's web console: its files (embedded in package
// api/console) under /console/, and the members' login, logout and
// session. Console routes refuse API keys: keys are for programs. authn
// signs and checks the session cookies and their CSRF tokens; this package
// reads and writes them (session.go).
package web
