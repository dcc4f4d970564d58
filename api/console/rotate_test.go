package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleRotation is rotating a key from its page in a real Chromium:
// the grace chosen in the dialog, the new key shown once with Copy and the
// CSV download, the lineage links both ways, and no second rotation of the
// old key.
func TestConsoleRotation(t *testing.T) {
	exe := chromium(t)
	a := startKeyplane(t)
	api := client{t: t, base: a.URL()}
	const keys = "/api/v1/orgs/default/projects/default/api-keys"
	old := api.do("POST", keys, map[string]any{"name": "deploy-bot", "expiration": "30d", "metadata": map[string]any{"team": "ops"}},
		"Authorization", basicAuth()).must(t, 201)
	oldID, oldEnc := old.str("id"), old.str("encoded")
	b := newBrowser(t, exe, a.URL())
	b.logIn()

	b.do("open the key's page", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+oldID+"?project=default"),
		chromedp.WaitVisible(chromedp.ID("rotate-key")))
	b.waitJS("an active key can be rotated", `!document.querySelector('#rotate-key').disabled`)
	b.do("open the rotate dialog", chromedp.Click(chromedp.ID("rotate-key")), chromedp.WaitVisible(chromedp.ID("rotate-grace")))
	b.waitJS("the grace defaults to a day", `document.querySelector('#rotate-grace').value === '24h'`)
	b.setValue("#rotate-grace", "1h")
	b.shotDialog("12-rotate-key")
	b.do("rotate", chromedp.Click(chromedp.ID("rotate-submit")), chromedp.WaitVisible(chromedp.ID("created-key")))
	encoded := run(b, "read the new key", chromedp.Value(chromedp.ID("created-key")))
	newID := keyID(t, encoded)
	if newID == oldID {
		t.Fatal("the dialog shows the old key")
	}
	b.waitJS("the copy button is there", `document.querySelector('#copy-key').textContent === 'Copy'`)
	csv := download(t, b, "#download-csv", "api-key-"+newID+".csv")
	if !strings.HasPrefix(csv, "id,name,expiration,api_key,encoded\r\n") || !strings.Contains(csv, encoded) || !strings.Contains(csv, "deploy-bot") {
		t.Fatalf("the CSV download is %q", csv)
	}
	b.shotDialog("13-key-rotated")

	// Outside the browser: the new key works, the old one until the grace ends.
	api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+encoded).must(t, 200)
	api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+oldEnc).must(t, 200)
	got := api.do("GET", keys+"/"+oldID, nil, "Authorization", basicAuth()).must(t, 200)
	if got.str("rotated_to") != newID {
		t.Fatalf("old key after the console's rotation: %s", got.raw)
	}
	exp, created := got.body["expiration"].(float64), got.body["creation"].(float64)
	if exp-created > 3600*1000+60*1000 {
		t.Fatalf("the old key ends %v ms after its creation, want the chosen grace of an hour", exp-created)
	}

	b.do("close the dialog", chromedp.Click(chromedp.ID("created-done")), chromedp.WaitNotPresent(chromedp.ID("created-key")))
	b.waitJS("the successor's page links back", `location.hash.includes('`+newID+`') && document.querySelector('#detail-name').textContent === 'deploy-bot' &&
		(document.querySelector('#rotated-from') || {}).textContent === '`+oldID+`'`)
	b.shot("14-rotated-successor")
	b.do("follow the lineage back", chromedp.Click(chromedp.ID("rotated-from")), chromedp.WaitVisible(chromedp.ID("rotated-note")))
	b.waitJS("the old key links forward and cannot rotate again", `(document.querySelector('#rotated-to') || {}).textContent === '`+newID+`' &&
		document.querySelector('#rotate-key').disabled && document.querySelector('#rotated-note').textContent.includes('stops working')`)
	b.waitJS("its timeline shows the rotation", `document.querySelector('#key-timeline').dataset.state === 'loaded' &&
		!!document.querySelector('#key-timeline li[data-type="KeyRotated"]')`)
	b.shot("15-rotated-old-key")
	b.do("back to the list", chromedp.Click(chromedp.ID("nav-keys")), chromedp.WaitVisible(chromedp.ID("keys-table")))
	b.waitJS("the list marks the rotated key, not as expiring soon", `(() => {
		const r = document.querySelector('tr[data-key-id="`+oldID+`"]');
		return r && !!r.querySelector('.rotated-mark') && !r.classList.contains('expiring') &&
			!document.querySelector('tr[data-key-id="`+newID+`"] .rotated-mark') })()`)

	// Under a key policy the dialog offers only what it allows.
	api.do("PUT", "/api/v1/orgs/default/policy", map[string]any{"max_grace": "2h", "max_expiration": "60d", "allow_never": false,
		"default_expiration": "30d"}, "Authorization", basicAuth()).must(t, 200)
	b.do("open the successor's page", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+newID+"?project=default"),
		chromedp.WaitVisible(chromedp.ID("rotate-key")))
	b.do("open the rotate dialog", chromedp.Click(chromedp.ID("rotate-key")), chromedp.WaitVisible(chromedp.ID("rotate-grace")))
	b.waitJS("graces past max_grace, expirations past max_expiration and never are off", `(() => {
		const off = (sel) => [...document.querySelectorAll(sel + ' option')].filter(o => o.disabled).map(o => o.value).join();
		return off('#rotate-grace') === '24h,7d' && document.querySelector('#rotate-grace').value === '1h' &&
			off('#rotate-expiration') === '3M,6M,1y,never' &&
			document.querySelector('#rotate-expiration option').textContent.includes('30d') })()`)
	b.shotDialog("16-rotate-under-a-policy")
	b.do("close", chromedp.Click(chromedp.CSS(`dialog .dialog-actions .btn:not(.primary)`)), chromedp.WaitNotPresent(chromedp.ID("rotate-grace")))
	for _, p := range b.consoleProblems() {
		t.Errorf("the page printed %s", p)
	}
}
