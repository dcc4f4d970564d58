package console_test

// Helpers of the browser test: a real keyplane, a real Chromium driven by
// chromedp, a plain HTTP client for checks from outside the browser, and
// screenshots at two widths.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane/app"

	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testhttp"
)

const (
	owner    = "alice"
	password = "alice-password"
)

// chromium finds Debian's Chromium (or $KEYPLANE_CHROMIUM). Without it the
// test fails under CI=true, where scripts/test installs it with apt, and
// skips elsewhere so that a laptop without a browser can run the rest.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KEYPLANE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for chromium, chromium-browser, google-chrome and $KEYPLANE_CHROMIUM); " +
		"install it with `apt-get install -y chromium` (scripts/test does that when run as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; skipped because CI is not true")
	return ""
}

// startKeyplane runs keyplane on a loopback port with its log in a temp dir.
func startKeyplane(t testing.TB) *app.App {
	t.Helper()
	return testapp.Start(t)
}

// screenshotDir is $KEYPLANE_SCREENSHOTS, or screenshots/ at the root of
// the repository (gitignored).
func screenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KEYPLANE_SCREENSHOTS")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatal("no go.mod above the test's directory")
			}
			root = parent
		}
		dir = filepath.Join(root, "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one Chromium tab and what the test needs around it.
type browser struct {
	t     testing.TB
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	problems []string // console errors, exceptions, CSP refusals
}

func newBrowser(t testing.TB, exe, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the test may run as root, where Chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser; it gets no timeout, so the browser
	// lives as long as the test (see chromedp's docs/API.md, example 21).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b := &browser{t: t, ctx: ctx, base: base, shots: screenshotDir(t)}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.noteConsole(m)
		}
	}()
	return b
}

// noteConsole keeps what the page should never print: exceptions, errors
// and warnings (a CSP violation is an error). Failed requests are left
// out: the test makes some on purpose (a wrong password, a CSRF probe).
func (b *browser) noteConsole(m chromedp.ConsoleMessage) {
	switch m.Type {
	case chromedp.ConsoleException, chromedp.ConsoleError, chromedp.ConsoleWarning:
	default:
		return
	}
	if strings.Contains(m.Text, "Failed to load resource") {
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
	b.mu.Unlock()
}

// consoleProblems is what the page printed that it should not have.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// do runs steps with a deadline; a failure saves what the page showed.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.failed(what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that returns a value.
func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.failed(what)
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	run(b, what, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second)))
}

// js evaluates an expression (awaiting a promise) and decodes its value.
func js[T any](b *browser, what, expr string) T {
	b.t.Helper()
	return run(b, what, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// setValue sets a field's value as typing would, firing input and change.
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	v, _ := json.Marshal(value)
	js[bool](b, "set "+sel, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, v))
}

// shot writes full-page screenshots of the current page at 1280 and 390
// pixels wide: name-1280.png and name-390.png.
func (b *browser) shot(name string) { b.t.Helper(); b.capture(name, true) }

// shotDialog captures the viewport only: a modal dialog and its backdrop
// are fixed to the viewport, so a full-page capture would cut them.
func (b *browser) shotDialog(name string) { b.t.Helper(); b.capture(name, false) }

func (b *browser) capture(name string, full bool) {
	b.t.Helper()
	for _, w := range []struct{ width, height int64 }{{1280, 800}, {390, 844}} {
		b.do("viewport for "+name, chromedp.EmulateViewport(w.width, w.height))
		// Two animation frames: the layout of the new width is painted.
		js[bool](b, "settle "+name, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		if wide := js[int](b, "page width", `document.documentElement.scrollWidth`); wide > int(w.width) {
			b.t.Errorf("%s at %d px scrolls sideways: the page is %d px wide", name, w.width, wide)
		}
		for _, p := range js[[]string](b, "accessibility of "+name, a11yCheck) {
			b.t.Errorf("%s at %d px: %s", name, w.width, p)
		}
		shoot := chromedp.CaptureScreenshot()
		if full {
			shoot = chromedp.FullScreenshot(100)
		}
		png := run(b, "screenshot "+name, shoot)
		file := filepath.Join(b.shots, fmt.Sprintf("%s-%d.png", name, w.width))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("viewport back", chromedp.EmulateViewport(1280, 800))
}

// a11yCheck lists what keeps a page from being used with a keyboard or a
// screen reader: controls without a label, buttons and links without a
// name, images without alt text, dialogs without a title, duplicate ids,
// and a page without exactly one visible h1. Pages that are not the
// console's (an error answer) are not checked.
const a11yCheck = `(() => {
	if (!document.getElementById('main')) return []; // not a console page
	const out = [];
	const visible = (el) => !el.closest('[hidden]') && el.getClientRects().length > 0;
	const byID = (id) => { const e = id && document.getElementById(id); return e ? e.textContent : ''; };
	const label = (el) => (el.getAttribute('aria-label') || [...(el.labels || [])].map(l => l.textContent).join(' ') ||
		byID(el.getAttribute('aria-labelledby')) || el.title || '').trim();
	const scope = document.querySelector('dialog[open]') || document;
	for (const el of scope.querySelectorAll('input, select, textarea')) {
		if (el.type !== 'hidden' && visible(el) && !label(el)) out.push(el.tagName.toLowerCase() + '#' + (el.id || '?') + ' has no label');
	}
	for (const el of scope.querySelectorAll('button, a[href]')) {
		if (visible(el) && !(el.textContent.trim() || label(el))) out.push('a ' + el.tagName.toLowerCase() + ' has no name: ' + el.outerHTML.slice(0, 80));
	}
	for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) out.push('an image has no alt: ' + img.src);
	for (const d of document.querySelectorAll('dialog[open]')) if (!byID(d.getAttribute('aria-labelledby')).trim()) out.push('a dialog has no title');
	const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
	for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) out.push('duplicate id ' + id);
	const h1 = [...document.querySelectorAll('h1')].filter(visible);
	if (h1.length !== 1) out.push(h1.length + ' visible h1 elements');
	return out;
})()`

// failed saves a screenshot of a failing step, best effort.
func (b *browser) failed(what string) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := "FAILED-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, strings.ToLower(what)) + ".png"
		_ = os.WriteFile(filepath.Join(b.shots, name), png, 0o644)
		b.t.Logf("screenshot of the failure: %s", filepath.Join(b.shots, name))
	}
}

// logIn logs in as the owner and waits for the keys table.
func (b *browser) logIn() {
	b.t.Helper()
	b.do("log in", chromedp.Navigate(b.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), owner),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password+"\n"),
		chromedp.WaitVisible(chromedp.ID("keys-table")))
	b.waitJS("the keys are listed", `!!document.querySelector('#keys-table tbody tr[data-key-id]')`)
}

// client calls keyplane over HTTP from outside the browser.
type client struct {
	t    testing.TB
	base string
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c client) do(method, path string, body any, header ...string) reply {
	c.t.Helper()
	if body != nil {
		header = append([]string{"Content-Type", "application/json"}, header...)
	}
	r := testhttp.Do(c.t, method, c.base+path, body, header...)
	return reply{status: r.Status, header: r.Header, body: r.Body, raw: r.Raw}
}

func (r reply) must(t testing.TB, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

func basicAuth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(owner+":"+password))
}

// keyID is the id inside an encoded key, base64(id:api_key).
func keyID(t *testing.T, encoded string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	id, _, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		t.Fatalf("the shown key %q is not base64(id:api_key)", encoded)
	}
	return id
}
