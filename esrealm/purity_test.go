package esrealm

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRealmModelDoesNoIO keeps esrealm as pure as domain, whose model it
// extends: its code imports domain and the standard library's computation
// packages only (password hashing, which draws randomness, is tenants').
func TestRealmModelDoesNoIO(t *testing.T) {
	allowed := map[string]bool{"github.com/keyplane/keyplane/domain": true,
		"bytes": true, "encoding/json": true, "sort": true, "strings": true, "time": true}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !allowed[path] {
				t.Errorf("%s imports %s: esrealm decides purely, without I/O or randomness", e.Name(), path)
			}
		}
	}
}
