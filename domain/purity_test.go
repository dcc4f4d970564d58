package domain

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDomainDoesNoIO keeps domain pure: only the standard library's
// computation packages may be imported. Randomness (crypto/rand, uuid) is
// I/O too: ids and secrets come from commands' Source; and unsafe has no
// place in the model (the fast event reader that once used it is
// eventcodec).
func TestDomainDoesNoIO(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "crypto/hmac": true, "crypto/sha256": true, "crypto/subtle": true,
		"encoding/base64": true, "encoding/hex": true, "encoding/json": true, "errors": true, "fmt": true, "math/bits": true,
		"net/mail": true, "sort": true, "strconv": true, "strings": true, "time": true,
		"unicode": true, "unicode/utf8": true,
		// NFKC, for comparing names (limits.go): computation, no I/O.
		"golang.org/x/text/unicode/norm": true,
		// tests only
		"testing": true, "go/parser": true, "go/token": true, "os": true, "reflect": true,
		"regexp": true, "runtime": true, // the matchers' reference and their memory measure
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		test := strings.HasSuffix(e.Name(), "_test.go")
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] || (!test && (path == "os" || path == "testing" || path == "reflect" || path == "regexp" || path == "runtime" || strings.HasPrefix(path, "go/"))) {
				t.Errorf("%s imports %s: domain must stay free of I/O", e.Name(), path)
			}
		}
	}
}
