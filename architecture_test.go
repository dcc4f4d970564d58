package keyplane_test

// The layering of ARCHITECTURE.md, enforced: each package's non-test files
// may import only the keyplane packages and outside modules its row
// allows. A new import that breaks the table fails here, naming the file.

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/keyplane/keyplane/"

// allowed is ARCHITECTURE.md's table: for each package, the keyplane
// packages and the outside import paths (prefixes) it may use. Standard
// library imports are always allowed. "*" allows every keyplane package.
var allowed = map[string]struct{ keyplane, outside []string }{
	"domain":             {nil, []string{"golang.org/x/text/unicode/norm"}},
	"esrealm":            {[]string{"domain"}, nil},
	"eventcodec":         {[]string{"domain"}, nil},
	"eventlog":           {[]string{"domain", "eventcodec"}, []string{"github.com/nats-io/", "github.com/google/uuid"}},
	"commands":           {[]string{"domain", "esrealm", "eventlog"}, []string{"github.com/google/uuid"}},
	"eventlog/storetest": {[]string{"domain", "eventlog"}, nil},
	"projections":        {[]string{"domain", "eventlog", "topk"}, nil},
	"tenants":            {[]string{"domain", "esrealm"}, []string{"golang.org/x/crypto/argon2"}},
	"esquery":            {[]string{"domain", "topk"}, nil},
	"topk":               {nil, nil},
	"authn":              {[]string{"domain", "projections", "tenants"}, nil},
	"notifier":           {[]string{"domain", "projections", "commands", "eventlog"}, []string{"github.com/robfig/cron/", "github.com/wneessen/go-mail"}},
	"api":                {[]string{"domain", "esrealm", "eventlog", "commands", "projections", "tenants", "esquery", "authn", "api/httpx", "api/rest", "api/es", "api/web", "api/cloud"}, []string{"github.com/prometheus/", "github.com/google/uuid"}},
	"api/httpx":          {[]string{"domain", "authn"}, nil},
	"api/rest":           {[]string{"domain", "eventlog", "commands", "projections", "tenants", "authn", "api/httpx"}, nil},
	"api/es":             {[]string{"domain", "esrealm", "commands", "projections", "tenants", "esquery", "authn", "api/httpx"}, []string{"github.com/google/uuid"}},
	"api/cloud":          {[]string{"domain", "commands", "projections", "tenants", "authn", "api/httpx"}, nil},
	"api/web":            {[]string{"domain", "commands", "authn", "api/httpx", "api/console"}, nil},
	"api/console":        {nil, nil},
	"app":                {[]string{"*"}, nil},
	"cmd/keyplane":       {[]string{"*"}, nil},
	"clustertest":        {nil, nil}, // tests only: its doc.go imports nothing
}

func TestImportsKeepTheLayering(t *testing.T) {
	imports := packageImports(t)
	for pkg := range allowed {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("ARCHITECTURE.md lists %s, which has no Go files: update the table", pkg)
		}
	}
	for pkg, files := range imports {
		rule, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s is not in ARCHITECTURE.md's table: add its row (and here)", pkg)
			continue
		}
		for file, paths := range files {
			for _, path := range paths {
				if !permitted(rule.keyplane, rule.outside, path) {
					t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow %s", file, path, pkg)
				}
			}
		}
	}
}

func permitted(keyplane, outside []string, path string) bool {
	if rel, ok := strings.CutPrefix(path, module); ok {
		for _, k := range keyplane {
			if k == "*" || k == rel {
				return true
			}
		}
		return false // internal/ is test support: no package of the product imports it
	}
	if !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
		return true // the standard library
	}
	for _, o := range outside {
		if path == o || strings.HasSuffix(o, "/") && strings.HasPrefix(path, o) {
			return true
		}
	}
	return false
}

// packageImports reads the imports of every non-test Go file of the
// module's packages, internal/, testdata and hidden folders left out:
// package (relative path) -> file -> import paths.
func packageImports(t *testing.T) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (name == "internal" || name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if out[pkg] == nil {
			out[pkg] = map[string][]string{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[pkg][path] = append(out[pkg][path], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module's root")
	}
	return out
}
