package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane/internal/testhttp"
)

// TestConsolePolicy is the key policy in Settings, in a real Chromium
// against a real keyplane: the owner sees what is in effect, a refused
// value is named under its field, a saved policy is the server's; a key
// from before it says it exceeds the policy, in the list and on its page;
// a viewer reads the policy and cannot change it.
func TestConsolePolicy(t *testing.T) {
	exe := chromium(t)
	a := startKeyplane(t)
	api := client{t: t, base: a.URL()}
	old := api.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "forever", "expiration": "never"}, "Authorization", basicAuth()).must(t, 201)
	testhttp.AddMember(t, api.base, basicAuth(), "default", testhttp.Member{Name: "vic", Password: "vic-password", Role: "viewer"})
	b := newBrowser(t, exe, a.URL())
	b.logIn()

	b.do("open settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("policy")))
	b.waitJS("the policy in effect is shown", `(() => { const t = document.querySelector('#policy-effective').textContent;
		return t.includes('90d on the console API') && t.includes('never on Elasticsearch') && !document.querySelector('#policy-max').disabled })()`)
	b.setValue("#policy-default", "400d")
	b.setValue("#policy-max", "365d")
	b.do("save a default beyond the maximum", chromedp.Click(chromedp.ID("save-policy")))
	b.waitJS("the refusal is under its field", `document.querySelector('#policy-default-error').textContent.includes('beyond [max_expiration]')`)
	b.setValue("#policy-default", "30d")
	b.setValue("#policy-never", "false")
	b.setValue("#policy-max-keys", "500")
	b.setValue("#policy-grace", "7d")
	b.do("save the policy", chromedp.Click(chromedp.ID("save-policy")))
	b.waitJS("saved", `document.querySelector('#toast').textContent.includes('Saved the key policy') &&
		document.querySelector('#policy-effective').textContent.includes('30d on the console API and 30d on Elasticsearch')`)
	b.shot("10-policy")
	got := api.do("GET", "/api/v1/orgs/default/policy", nil, "Authorization", basicAuth()).must(t, 200)
	if got.body["default_expiration"] != "30d" || got.body["max_expiration"] != "365d" || got.body["allow_never"] != false ||
		got.body["max_active_keys"] != float64(500) || got.body["max_grace"] != "7d" {
		t.Fatalf("the saved policy: %s", got.raw)
	}

	b.do("open the keys", chromedp.Click(chromedp.ID("nav-keys")), chromedp.WaitVisible(chromedp.ID("keys-table")))
	b.waitJS("the old key exceeds the policy", `[...document.querySelectorAll('#keys-table tbody tr[data-key-id]')].some(r =>
		r.textContent.includes('forever') && !!r.querySelector('.badge.exceeds'))`)
	api.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "fine"}, "Authorization", basicAuth()).must(t, 201)
	b.setValue("#policy-filter", "true")
	b.waitJS("only the key exceeding the policy is listed", `(() => { const rows = [...document.querySelectorAll('#keys-table tbody tr[data-key-id]')];
		return rows.length === 1 && rows[0].textContent.includes('forever') && location.hash.includes('policy=true') })()`)
	b.shot("10c-keys-exceeding-policy")
	b.setValue("#policy-filter", "")
	b.waitJS("every key again", `document.querySelectorAll('#keys-table tbody tr[data-key-id]').length === 2`)
	b.do("open the create dialog", chromedp.Click(chromedp.ID("create-key")), chromedp.WaitVisible(chromedp.ID("key-name")))
	b.waitJS("the choices keep to the policy", `(() => { const s = document.querySelector('#key-expiration');
		const opt = (v) => [...s.options].find(o => o.value === v);
		return s.value === '' && opt('').textContent.includes('30d') && opt('never').disabled && !opt('1y').disabled &&
			document.querySelector('#key-expiration-hint').textContent.includes('at most 365d') })()`)
	b.shotDialog("10b-create-under-policy")
	b.do("close the dialog", chromedp.KeyEvent("\x1b"))
	b.do("open the old key", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+old.str("id")), chromedp.WaitVisible(chromedp.ID("detail-exceeds")))

	// A viewer reads the policy; the form is not theirs to save.
	viewer := newBrowser(t, exe, a.URL())
	viewer.do("log in as a viewer", chromedp.Navigate(viewer.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "vic"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "vic-password\n"),
		chromedp.WaitVisible(chromedp.ID("keys-table")))
	viewer.do("open settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("policy")))
	viewer.waitJS("read-only policy", `document.querySelector('#policy-max').value === '365d' && document.querySelector('#policy-max').disabled &&
		!document.querySelector('#save-policy') && !!document.querySelector('#policy-owners-only')`)
	for _, br := range []*browser{b, viewer} {
		for _, p := range br.consoleProblems() {
			if !strings.Contains(p, "403") {
				t.Errorf("the page printed %s", p)
			}
		}
	}
}
