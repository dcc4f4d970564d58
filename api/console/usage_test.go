package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/internal/testapp"
	"github.com/keyplane/keyplane/internal/testclock"
)

// TestConsoleUsage is finding the keys nobody uses in a real Chromium and
// revoking them: the Last used column and key page, the "Unused for 90
// days" filter, and "Revoke all N matching" after the server's preview.
func TestConsoleUsage(t *testing.T) {
	exe := chromium(t)
	clock := testclock.New(time.Now().Add(-100 * 24 * time.Hour))
	a := testapp.Start(t, func(c *app.Config) { c.Now, c.UsageFlush = clock.Now, time.Hour })
	api := client{t: t, base: a.URL()}
	const keys = "/api/v1/orgs/default/api-keys"
	mk := func(name string) (string, string) {
		r := api.do("POST", keys, map[string]any{"name": name, "expiration": "365d"}, "Authorization", basicAuth()).must(t, 201)
		return r.str("id"), r.str("encoded")
	}
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := a.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	oldID, oldEnc := mk("old-bot")
	idleID, _ := mk("idle-bot")
	api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+oldEnc).must(t, 200)
	flush()
	clock.Add(100 * 24 * time.Hour)
	newID, newEnc := mk("new-bot")
	api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+newEnc).must(t, 200)
	flush()

	b := newBrowser(t, exe, a.URL())
	b.logIn()
	b.waitJS("the Last used column says when, or never", `(() => {
		const cell = (id) => (document.querySelector('tr[data-key-id="' + id + '"] td.last-used') || {}).textContent;
		return !!document.querySelector('button.sort[data-sort="last_used"]') && cell('`+idleID+`') === 'Never' &&
			/months? ago/.test(cell('`+oldID+`')) && /(minute|second|hour)s? ago|now/.test(cell('`+newID+`')) })()`)
	b.setValue("#usage-filter", "unused90")
	b.waitJS("the filter leaves the keys unused for 90 days", `(() => {
		const rows = [...document.querySelectorAll('#keys-table tbody tr[data-key-id]')].map(r => r.dataset.keyId).sort().join();
		return rows === ['`+oldID+`', '`+idleID+`'].sort().join() && !document.querySelector('#revoke-matching').hidden })()`)
	b.shot("17-unused-keys")
	b.do("preview the cleanup", chromedp.Click(chromedp.ID("revoke-matching")), chromedp.WaitVisible(chromedp.ID("confirm-action")))
	b.waitJS("the preview counts the matches", `document.querySelector('#confirm-action').textContent === 'Revoke all 2 matching'`)
	b.shotDialog("18-revoke-all-matching")
	b.do("revoke them", chromedp.Click(chromedp.ID("confirm-action")), chromedp.WaitNotPresent(chromedp.ID("confirm-action")))
	b.waitJS("the list shows them revoked", `[...document.querySelectorAll('#keys-table tbody tr[data-key-id]')].every(r => r.dataset.status === 'invalidated')`)
	for id, want := range map[string]string{oldID: "invalidated", idleID: "invalidated", newID: "active"} {
		if got := api.do("GET", keys+"/"+id, nil, "Authorization", basicAuth()).must(t, 200).str("status"); got != want {
			t.Errorf("key %s is %s, want %s", id, got, want)
		}
	}
	b.do("open the used key's page", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+newID), chromedp.WaitVisible(chromedp.ID("detail-last-used")))
	b.waitJS("its page says when it was last used", `document.querySelector('#detail-last-used').textContent.includes('ago')`)
	b.do("open the audit log", chromedp.Click(chromedp.ID("nav-audit")), chromedp.WaitVisible(chromedp.CSS(".event")))
	b.waitJS("the key entries say when each key was last used", `(() => {
		const note = (id) => ((document.querySelector('a[data-key="' + id + '"]') || {}).parentElement || {}).querySelector?.('.key-last-used')?.textContent || '';
		return /last used .*ago/.test(note('`+newID+`')) && note('`+idleID+`') === ' · never used' })()`)
	b.shot("19-audit-last-used")
	for _, p := range b.consoleProblems() {
		t.Errorf("the page printed %s", p)
	}
}
