package yamlrest

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func newRunner(t *testing.T, url string, out *bytes.Buffer) *Runner {
	t.Helper()
	return &Runner{
		BaseURL: url,
		SpecDir: "testdata/api",
		DefaultHeaders: http.Header{
			"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("superuser:pw"))},
		},
		Out:             out,
		ClusterFeatures: map[string]bool{"present.feature": true},
	}
}

func byName(res Result) map[string]TestResult {
	m := map[string]TestResult{}
	for _, t := range res.Tests {
		m[t.File+"/"+t.Name] = t
	}
	return m
}

func TestPassingFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/pass/*.yml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, srv := newFakeServer(t)
			var out bytes.Buffer
			r := newRunner(t, srv.URL, &out)
			r.Verbose = testing.Verbose()
			res, err := r.RunFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != 0 || res.Passed == 0 {
				t.Errorf("want only passes, got %s\n%s", res.Summary(), out.String())
			}
		})
	}
}

func TestSetupTeardownOrder(t *testing.T) {
	fake, srv := newFakeServer(t)
	var out bytes.Buffer
	res, err := newRunner(t, srv.URL, &out).RunFile(context.Background(), "testdata/pass/50_setup_teardown.yml")
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 2 {
		t.Fatalf("got %s\n%s", res.Summary(), out.String())
	}
	want := []string{"setup", "first", "teardown", "setup", "second", "teardown"}
	if got := fake.logged(); !reflect.DeepEqual(got, want) {
		t.Errorf("call order %v, want %v", got, want)
	}
}

func TestSkip(t *testing.T) {
	fake, srv := newFakeServer(t)
	var out bytes.Buffer
	res, err := newRunner(t, srv.URL, &out).RunFile(context.Background(), "testdata/pass/60_skip.yml")
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 3 || res.Skipped != 5 || res.Failed != 0 {
		t.Fatalf("got %s\n%s", res.Summary(), out.String())
	}
	if slices.Contains(fake.logged(), "must-not-run") {
		t.Errorf("a skipped test ran: %v", fake.logged())
	}
	tests := byName(res)
	for name, reason := range map[string]string{
		"Unsupported feature":                "unsupported test runner feature(s) [some_future_feature]",
		"Unsupported feature as a string":    "[some_future_feature]",
		"Version all is skipped":             "skip version: all (broken everywhere)",
		"Requires a missing cluster feature": "requires cluster feature(s) [some.cluster.feature] (not there)",
		"Awaits fix":                         "awaits fix: https://example.com/issue/1",
	} {
		tr := tests["60_skip.yml/"+name]
		if tr.Status != Skipped || !strings.Contains(tr.Reason, reason) {
			t.Errorf("%s: got %s %q, want SKIP with %q", name, tr.Status, tr.Reason, reason)
		}
	}
	if !strings.Contains(out.String(), "SKIP 60_skip.yml/Awaits fix: line ") {
		t.Errorf("missing SKIP line:\n%s", out.String())
	}

	// A whole file is skipped when setup needs a missing feature.
	var out2 bytes.Buffer
	r := newRunner(t, srv.URL, &out2)
	r.Features = map[string]bool{"headers": true}
	res, err = r.RunFile(context.Background(), "testdata/pass/70_transform.yml")
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 || res.Passed != 0 || !strings.Contains(res.Tests[0].Reason, "[transform_and_set]") {
		t.Errorf("got %s: %v", res.Summary(), res.Tests)
	}
}

func TestFailureReasons(t *testing.T) {
	fake, srv := newFakeServer(t)
	var out bytes.Buffer
	res, err := newRunner(t, srv.URL, &out).RunDir(context.Background(), "testdata/fail")
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 0 || res.Skipped != 0 {
		t.Errorf("everything must fail, got %s\n%s", res.Summary(), out.String())
	}
	tests := byName(res)
	want := map[string][]string{
		"10_failures.yml/wrong match value": {
			"step 2 (line 6, match method)", `field [method] does not match: expected "POST", got "GET" (string)`,
			"[last response: GET /_echo -> 200 {"},
		"10_failures.yml/unexpected error status": {
			"step 1 (line 10, do test.get_item)", "GET /_items/absent returned 404, expected success",
			"resource_not_found_exception"},
		"10_failures.yml/catch mismatch": {
			"expected status 403 (catch: forbidden), GET /_echo?status=400 returned 400", "echo_exception"},
		"10_failures.yml/catch but success": {"expected status 404 (catch: missing), GET /_echo returned 200"},
		"10_failures.yml/catch regex mismatch": {
			"error body does not match /some_other_exception/", "returned 404"},
		"10_failures.yml/missing field": {
			`field [dotted.nope] not found: key "nope" not found in dotted (keys: [a.b, nested])`},
		"10_failures.yml/regex mismatch":         {`field [text] expected to match /^slow/, got "The quick`},
		"10_failures.yml/regex on a number":      {"expected to be a string matching /3/, got 3 (number)"},
		"10_failures.yml/length mismatch":        {"field [list] expected length 2, got 3"},
		"10_failures.yml/nested difference":      {"expected 2 at 2.k, got 1 (number)"},
		"10_failures.yml/extra key":              {`unexpected key "a.b" with value "dot"`},
		"10_failures.yml/number versus string":   {`expected "3", got 3 (number)`},
		"10_failures.yml/unknown stash variable": {"stashed value not found for key [nope]"},
		"10_failures.yml/unknown api":            {`unknown API "test.nope"`},
		"10_failures.yml/catch param on a valid request": {
			"expected a client-side parameter error (catch: param) but GET /_echo is a valid request"},
		"10_failures.yml/is_true on a false value":     {`field [empty.zero_str] expected to be true, got "0" (string)`},
		"10_failures.yml/is_false on a true value":     {`field [method] expected to be false/missing, got "GET"`},
		"10_failures.yml/gt fails":                     {"field [numbers.int] expected > 3, got 3"},
		"10_failures.yml/contains fails":               {`field [list] has no object containing {"k":5}`},
		"10_failures.yml/assertion before any request": {"no response to check"},
		"10_failures.yml/unsupported step":             {`unsupported step "frobnicate"`},
		"20_setup_fails.yml/setup failure fails the test": {
			"setup step 2 (line 5, do test.get_item)", "GET /_items/missing-in-setup returned 404"},
		"30_teardown_fails.yml/passing body, failing teardown": {
			"teardown step 2 (line 5, do test.delete_item)", "DELETE /_items/missing-in-teardown returned 404"},
		"30_teardown_fails.yml/failing body and teardown": {
			"field [method] does not match", "; teardown also failed: teardown step 2"},
		"40_bad_yaml.yml/(file)": {"40_bad_yaml.yml: invalid YAML"},
	}
	for name, subs := range want {
		tr, ok := tests[name]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		if tr.Status != Failed {
			t.Errorf("%s: status %s, want FAIL", name, tr.Status)
		}
		for _, s := range subs {
			if !strings.Contains(tr.Reason, s) {
				t.Errorf("%s: reason %q\n  does not contain %q", name, tr.Reason, s)
			}
		}
	}
	if len(res.Tests) != len(want) {
		t.Errorf("got %d results, want %d", len(res.Tests), len(want))
	}
	if res.Failed != len(want) {
		t.Errorf("failed count %d, want %d", res.Failed, len(want))
	}
	wantLog := []string{"setup", "teardown", "body", "teardown", "teardown"}
	if got := fake.logged(); !reflect.DeepEqual(got, wantLog) {
		t.Errorf("server log %v, want %v", got, wantLog)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "0 passed, 25 failed, 0 skipped" {
		t.Errorf("summary line %q", last)
	}
	if !slices.Contains(lines, `FAIL 10_failures.yml/unknown api: step 1 (line 82, do test.nope): unknown API "test.nope": no spec for it in testdata/api`) {
		t.Errorf("missing FAIL line in output:\n%s", out.String())
	}
}

func TestOutputFormat(t *testing.T) {
	_, srv := newFakeServer(t)
	var out bytes.Buffer
	r := newRunner(t, srv.URL, &out)
	r.Include = func(file, test string) bool { return test == "Awaits fix" || test == "Old version ranges do not apply" }
	res, err := r.RunFile(context.Background(), "testdata/pass/60_skip.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := "PASS 60_skip.yml/Old version ranges do not apply\n" +
		"SKIP 60_skip.yml/Awaits fix: line 56: awaits fix: https://example.com/issue/1\n" +
		"1 passed, 0 failed, 1 skipped\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if len(res.Failures()) != 0 {
		t.Errorf("failures: %v", res.Failures())
	}
}

func TestVerbose(t *testing.T) {
	_, srv := newFakeServer(t)
	var out bytes.Buffer
	r := newRunner(t, srv.URL, &out)
	r.Verbose = true
	r.Include = func(file, test string) bool { return test == "A body turns GET into POST" }
	if _, err := r.RunFile(context.Background(), "testdata/pass/10_paths.yml"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"=== 10_paths.yml/A body turns GET into POST", "> POST /_echo", `> {"a":1}`, "< 200 {"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("verbose output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestRunDirErrors(t *testing.T) {
	r := &Runner{BaseURL: "http://127.0.0.1:1", SpecDir: "testdata/api"}
	if _, err := r.RunDir(context.Background(), "testdata/does-not-exist"); err == nil {
		t.Error("want an error for a missing directory")
	}
	r = &Runner{BaseURL: "http://127.0.0.1:1", SpecDir: "testdata/no-specs"}
	if _, err := r.RunDir(context.Background(), "testdata/pass"); err == nil {
		t.Error("want an error for a missing spec directory")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = &Runner{BaseURL: "http://127.0.0.1:1", SpecDir: "testdata/api"}
	if _, err := r.RunDir(ctx, "testdata/pass"); err == nil {
		t.Error("want an error for a cancelled context")
	}
}

// TestRealSuiteParses checks, when the Elasticsearch files are present,
// that every file parses and every API call has a spec and a path.
func TestRealSuiteParses(t *testing.T) {
	const dir = "/work/shared/es-rest-tests"
	files, _ := filepath.Glob(filepath.Join(dir, "api_key", "*.yml"))
	if len(files) == 0 {
		t.Skip("Elasticsearch test files not available")
	}
	specs, err := LoadSpecs(filepath.Join(dir, "api"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseSuite(filepath.Base(f), data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		secs := append([]*section{s.setup, s.teardown}, s.tests...)
		for _, sec := range secs {
			if sec == nil {
				continue
			}
			if sec.err != nil {
				t.Errorf("%s/%s: %v", s.file, sec.name, sec.err)
			}
			for _, st := range sec.steps {
				if st.do == nil {
					continue
				}
				api := specs[st.do.api]
				if api == nil {
					t.Errorf("%s line %d: no spec for %s", s.file, st.line, st.do.api)
					continue
				}
				args := map[string]any{}
				for k, v := range st.do.args {
					if k != "ignore" {
						args[k] = v
					}
				}
				if req := api.buildRequest(args); req.fatal || (len(req.problems) > 0 && st.do.catch != "param") {
					t.Errorf("%s line %d: %v", s.file, st.line, req.problems)
				}
			}
		}
	}
}
