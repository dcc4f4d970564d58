// Package yamlrest runs Elasticsearch YAML REST tests (the format of
// rest-api-spec/test and x-pack yamlRestTest resources) against an HTTP
// server, so that an Elasticsearch-compatible server can be checked with
// Elasticsearch's own test files.
//
// # Usage
//
//	r := &yamlrest.Runner{
//		BaseURL:        srv.URL,
//		SpecDir:        "/path/to/rest-api-spec/api",
//		DefaultHeaders: http.Header{"Authorization": {"Basic " + creds}},
//		Out:            os.Stdout,
//	}
//	res, err := r.RunDir(ctx, "/path/to/tests/api_key")
//
// Each test prints a line "PASS file/test", "FAIL file/test: reason" or
// "SKIP file/test: reason"; a run ends with "N passed, N failed, N skipped".
// Result holds the same information per test.
//
// # Test files
//
// A file is a stream of YAML documents; each maps section names to lists of
// steps. "setup" runs before every test and "teardown" after every test
// that got past its skip checks, even when the test or its setup failed.
// Every other key is a test. The stash (variables) is reset for each test.
//
// # Requests
//
// `do` calls an API by name (e.g. security.put_role). The API's spec (a
// JSON file of SpecDir) gives the URL: among the paths whose parts are all
// given, the one with the most parts is used; path parts are URL-encoded
// (lists joined with commas). The method is the first one listed for that
// path, except that POST replaces GET when a body is given and POST is
// allowed. The other arguments become query parameters (booleans and
// numbers as text, lists joined with commas). `body` may be a YAML map or
// list, or JSON text (a `body: >` block); it is sent as JSON, or as
// newline-delimited JSON for several documents or a "bulk" API. `ignore`
// (in the arguments or beside them) lists statuses that are not failures.
// `headers` are added to DefaultHeaders (same names replaced). `warnings`,
// `allowed_warnings` and `node_selector` are accepted and ignored.
//
// Without `catch`, any status >= 400 fails the step (except a 404 for
// HEAD). `catch` accepts bad_request (400), unauthorized (401), forbidden
// (403), missing (404), request_timeout (408), conflict (409),
// too_many_requests (429), unavailable (503), request (any status >= 400),
// /regex/ (an error whose body text matches), and param: a client-side
// error, which passes without sending when the call is invalid for the spec
// (no buildable path, missing required body or parameter, unknown
// parameter) and fails otherwise. Unknown parameters are otherwise sent
// anyway (shown with Verbose).
//
// # Stash and paths
//
// A string that is entirely `$name` is replaced by the stashed value with
// its type; `${name}` inside a string is replaced by the value's text. This
// applies to arguments, bodies (after JSON text is parsed), header values,
// expected values, map keys and parts of field paths. The last response
// body is always stashed as "body", so `$body` is the whole body and
// `$body.a.b` a part of it; a stash name may also be a path into a stashed
// value.
//
// Field paths are dotted (`api_keys.0.name`); `\.` is a dot inside a key,
// a number indexes a list, `_arbitrary_key_` evaluates to a key of an object
// (the first in sorted order; e.g. `set: {nodes._arbitrary_key_: node}` then
// `nodes.$node.name`), and the empty path is the whole body.
//
// # Assertions
//
// match compares deeply; numbers compare by value whatever their YAML or
// JSON form (1 == 1.0), objects must have exactly the same keys. An
// expected string /like this/ is a regular expression searched in the
// (string) actual value, compiled as Java's Pattern.COMMENTS does in the
// Elasticsearch runner: unescaped whitespace is ignored and # starts a
// comment. Go's RE2 syntax applies otherwise (no look-around). An expected
// null also accepts a missing field.
//
// is_true fails when the value is missing, null, false, "", "false" or 0;
// is_false is the opposite. length works on lists, objects and strings.
// gt, gte, lt and lte compare numbers (or strings). contains checks that a
// list holds an element equal to the expected value; an expected object
// only needs its own keys to match one of the list's objects. close_to
// ({value, error}) and is_after (RFC 3339 times) are supported too.
// set stores a field in the stash; transform_and_set supports
// #base64EncodeCredentials(id_field,key_field), the ApiKey credentials.
//
// # Skipping
//
// skip/requires steps of setup, teardown and the test are evaluated before
// anything runs. A test is skipped when it needs a test-runner feature
// (skip.features, requires.test_runner_features) missing from
// Runner.Features (DefaultFeatures() when nil); when requires.cluster_features
// names a feature absent from Runner.ClusterFeatures and Runner.Features;
// when skip.cluster_features are all present; for skip.version "all"; and
// for skip.awaits_fix. Other version ranges describe older Elasticsearch
// versions and are ignored, as is skip.os. Skipped tests are reported with
// the reason and not counted as passed.
package yamlrest
