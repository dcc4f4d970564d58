package yamlrest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Runner runs Elasticsearch YAML REST test files against a server.
// The zero value is not usable: BaseURL and SpecDir must be set.
// A Runner must not be used by several goroutines at once.
type Runner struct {
	// BaseURL is the server address, e.g. "http://127.0.0.1:9200".
	BaseURL string
	// Client sends the requests; nil means a client with a 60s timeout.
	Client *http.Client
	// SpecDir holds the REST API specs (*.json), e.g. rest-api-spec/api.
	SpecDir string
	// DefaultHeaders are sent with every request (typically the
	// Authorization of a superuser). A `do` step's headers replace them
	// key by key.
	DefaultHeaders http.Header
	// Out receives one line per test and a summary line; nil discards.
	Out io.Writer
	// Verbose also writes every request and response to Out.
	Verbose bool
	// Features are the test-runner features considered supported by
	// `skip: features` and `requires: test_runner_features`. nil means
	// DefaultFeatures().
	Features map[string]bool
	// ClusterFeatures are the cluster features the server is considered to
	// have, for `requires: cluster_features` (test skipped if one is
	// missing) and `skip: cluster_features` (test skipped if all are
	// present). Names in Features count too.
	ClusterFeatures map[string]bool
	// Include, if set, selects the tests to run; file is the base name of
	// the YAML file. Tests not included are neither run nor counted.
	Include func(file, test string) bool

	specsOnce sync.Once
	specs     map[string]*API
	specsErr  error
}

// Status is the outcome of one test.
type Status string

// Test outcomes, as printed at the start of each output line.
const (
	Passed  Status = "PASS"
	Failed  Status = "FAIL"
	Skipped Status = "SKIP"
)

// TestResult is the outcome of one test of a file.
type TestResult struct {
	File     string // base name of the YAML file
	Name     string // test name; "(file)" for a file that could not be parsed
	Status   Status
	Reason   string // why the test failed or was skipped
	Duration time.Duration
}

// String formats the result like the output line.
func (t TestResult) String() string {
	if t.Reason == "" {
		return fmt.Sprintf("%s %s/%s", t.Status, t.File, t.Name)
	}
	return fmt.Sprintf("%s %s/%s: %s", t.Status, t.File, t.Name, t.Reason)
}

// Result gathers the outcomes of a run.
type Result struct {
	Passed, Failed, Skipped int
	Tests                   []TestResult
}

func (r *Result) add(t TestResult) {
	r.Tests = append(r.Tests, t)
	switch t.Status {
	case Passed:
		r.Passed++
	case Failed:
		r.Failed++
	case Skipped:
		r.Skipped++
	}
}

// Merge adds the outcomes of o to r.
func (r *Result) Merge(o Result) {
	for _, t := range o.Tests {
		r.add(t)
	}
}

// Summary is the final output line, e.g. "12 passed, 1 failed, 3 skipped".
func (r Result) Summary() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Passed, r.Failed, r.Skipped)
}

// Failures returns the failed tests.
func (r Result) Failures() []TestResult {
	var out []TestResult
	for _, t := range r.Tests {
		if t.Status == Failed {
			out = append(out, t)
		}
	}
	return out
}

// DefaultFeatures returns the test-runner features this package implements.
func DefaultFeatures() map[string]bool {
	m := map[string]bool{}
	for _, f := range []string{
		"headers", "transform_and_set", "warnings", "warnings_regex",
		"allowed_warnings", "allowed_warnings_regex", "node_selector",
		"stash_in_key", "stash_in_path", "embedded_stash_key",
		"arbitrary_key", "contains", "catch_unauthorized", "close_to", "is_after",
	} {
		m[f] = true
	}
	return m
}

// RunDir runs every *.yml and *.yaml file of dir, in name order, then
// writes the summary line. The error is only for problems that prevent
// running (unreadable directory or specs, cancelled context); test failures
// are in the Result.
func (r *Runner) RunDir(ctx context.Context, dir string) (Result, error) {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return Result{}, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return Result{}, fmt.Errorf("yamlrest: %w", err)
		}
		return Result{}, fmt.Errorf("yamlrest: no *.yml test file in %s", dir)
	}
	sort.Strings(files)
	return r.RunFiles(ctx, files...)
}

// RunFile runs one YAML test file, then writes the summary line.
func (r *Runner) RunFile(ctx context.Context, path string) (Result, error) {
	return r.RunFiles(ctx, path)
}

// RunFiles runs the given YAML test files in order, then writes the
// summary line.
func (r *Runner) RunFiles(ctx context.Context, paths ...string) (Result, error) {
	var res Result
	if _, err := r.loadSpecs(); err != nil {
		return res, err
	}
	for _, p := range paths {
		if err := r.runFile(ctx, p, &res); err != nil {
			fmt.Fprintln(r.out(), res.Summary())
			return res, err
		}
	}
	fmt.Fprintln(r.out(), res.Summary())
	return res, nil
}

func (r *Runner) loadSpecs() (map[string]*API, error) {
	r.specsOnce.Do(func() {
		if r.SpecDir == "" {
			r.specsErr = fmt.Errorf("yamlrest: Runner.SpecDir is not set")
			return
		}
		r.specs, r.specsErr = LoadSpecs(r.SpecDir)
	})
	return r.specs, r.specsErr
}

func (r *Runner) out() io.Writer {
	if r.Out == nil {
		return io.Discard
	}
	return r.Out
}

func (r *Runner) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return &http.Client{Timeout: 60 * time.Second}
}

func (r *Runner) report(res *Result, t TestResult) {
	res.add(t)
	fmt.Fprintln(r.out(), t.String())
}

func (r *Runner) runFile(ctx context.Context, path string, res *Result) error {
	name := filepath.Base(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("yamlrest: %w", err)
	}
	s, err := parseSuite(name, data)
	if err != nil {
		if r.Include == nil || r.Include(name, "(file)") {
			r.report(res, TestResult{File: name, Name: "(file)", Status: Failed, Reason: err.Error()})
		}
		return nil
	}
	if len(s.tests) == 0 {
		r.report(res, TestResult{File: name, Name: "(file)", Status: Failed, Reason: "no test in file"})
		return nil
	}
	for _, t := range s.tests {
		if r.Include != nil && !r.Include(name, t.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		tr := r.runTest(ctx, s, t)
		tr.Duration = time.Since(start)
		r.report(res, tr)
	}
	return nil
}

// runTest runs setup, the test and teardown (always, once setup started).
func (r *Runner) runTest(ctx context.Context, s *suite, t *section) TestResult {
	tr := TestResult{File: s.file, Name: t.name}
	for _, sec := range []*section{s.setup, t, s.teardown} {
		if sec != nil && sec.err != nil {
			tr.Status, tr.Reason = Failed, fmt.Sprintf("%s: %v", label(sec, t), sec.err)
			return tr
		}
	}
	if reason, err := r.skipReason(s.setup, t, s.teardown); err != nil {
		tr.Status, tr.Reason = Failed, err.Error()
		return tr
	} else if reason != "" {
		tr.Status, tr.Reason = Skipped, reason
		return tr
	}

	x := &testRun{r: r, ctx: ctx, stash: stash{}}
	if r.Verbose {
		fmt.Fprintf(r.out(), "=== %s/%s\n", s.file, t.name)
	}
	err := x.runSection(s.setup, "setup ")
	if err == nil {
		err = x.runSection(t, "")
	}
	if terr := x.runSection(s.teardown, "teardown "); terr != nil {
		if err == nil {
			err = terr
		} else {
			err = fmt.Errorf("%v; teardown also failed: %v", err, terr)
		}
	}
	if err != nil {
		tr.Status, tr.Reason = Failed, err.Error()
	} else {
		tr.Status = Passed
	}
	return tr
}

func label(sec, test *section) string {
	if sec == test {
		return "test"
	}
	return sec.name
}

// features returns the supported test-runner features.
func (r *Runner) features() map[string]bool {
	if r.Features == nil {
		return DefaultFeatures()
	}
	return r.Features
}

func (r *Runner) hasClusterFeature(f string) bool {
	return r.ClusterFeatures[f] || r.features()[f]
}

// skipReason evaluates the skip and requires steps of the sections; a
// non-empty result means the test is skipped.
func (r *Runner) skipReason(secs ...*section) (string, error) {
	for _, sec := range secs {
		if sec == nil {
			continue
		}
		for _, st := range sec.steps {
			if st.kind != "skip" && st.kind != "requires" {
				continue
			}
			v, err := nodeValue(st.value)
			if err != nil {
				return "", err
			}
			m, _ := v.(map[string]any)
			why := ""
			if s, ok := m["reason"].(string); ok && strings.TrimSpace(s) != "" {
				why = " (" + strings.TrimSpace(s) + ")"
			}
			if reason := r.skipStep(st.kind, m); reason != "" {
				return fmt.Sprintf("line %d: %s%s", st.line, reason, why), nil
			}
		}
	}
	return "", nil
}

func (r *Runner) skipStep(kind string, m map[string]any) string {
	feats := r.features()
	var missing []string
	for _, key := range []string{"features", "test_runner_features"} {
		if kind == "skip" && key == "test_runner_features" || kind == "requires" && key == "features" {
			continue
		}
		for _, f := range asStrings(m[key]) {
			if !feats[f] {
				missing = append(missing, f)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("unsupported test runner feature(s) [%s]", strings.Join(missing, ", "))
	}
	cf := asStrings(m["cluster_features"])
	switch kind {
	case "skip":
		if v, ok := m["version"]; ok && strings.TrimSpace(stringify(v)) == "all" {
			return "skip version: all"
		}
		if len(cf) > 0 {
			all := true
			for _, f := range cf {
				all = all && r.hasClusterFeature(f)
			}
			if all {
				return fmt.Sprintf("skipped on cluster features [%s]", strings.Join(cf, ", "))
			}
		}
		if v, ok := m["awaits_fix"]; ok {
			return "awaits fix: " + stringify(v)
		}
	case "requires":
		var absent []string
		for _, f := range cf {
			if !r.hasClusterFeature(f) {
				absent = append(absent, f)
			}
		}
		if len(absent) > 0 {
			return fmt.Sprintf("requires cluster feature(s) [%s]", strings.Join(absent, ", "))
		}
		if _, ok := m["capabilities"]; ok && !feats["capabilities"] {
			return "requires capabilities (not checked by this runner)"
		}
	}
	return ""
}
