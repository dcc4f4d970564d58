package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyplane/keyplane/internal/testhttp"
	"github.com/keyplane/keyplane/internal/testwait"
)

// TestConsole is what an organization owner does in the console, in a real
// Chromium against a real keyplane: log in, create a key and read it once,
// use it against the API, update it, bulk-delete two keys, set contacts,
// read the audit log, log out; and what the console refuses: state changes
// without the CSRF token, and API keys in a browser.
func TestConsole(t *testing.T) {
	exe := chromium(t)
	a := startKeyplane(t)
	api := client{t: t, base: a.URL()}
	seed(t, api)
	b := newBrowser(t, exe, a.URL())

	login(t, b)
	encoded := createKey(t, b)
	id := keyID(t, encoded)
	useKey(t, api, encoded)
	updateKey(t, b, api, id)
	bulkDelete(t, b, api)
	filterAndSearch(t, b)
	contacts(t, b, api)
	members(t, b, api)
	audit(t, b, api, id)
	cookie := sessionCookie(t, b)
	csrfRefused(t, b, api, cookie)
	logout(t, b, api, cookie)
	apiKeyRefused(t, b, api, encoded)
	for _, p := range b.consoleProblems() {
		t.Errorf("the page printed %s", p)
	}
	t.Logf("screenshots in %s", b.shots)
}

// seed gives the table something to show: keys of both scopes and types,
// one expiring within 30 days, one expired, one never expiring.
func seed(t *testing.T, api client) {
	auth := basicAuth()
	api.do("POST", "/api/v1/orgs/default/projects", map[string]any{"name": "analytics"}, "Authorization", auth).must(t, 201)
	for _, k := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/orgs/default/api-keys", map[string]any{"name": "terraform", "expiration": "1y"}},
		{"/api/v1/orgs/default/api-keys", map[string]any{"name": "ci-deploy", "expiration": "12d"}},
		{"/api/v1/orgs/default/api-keys", map[string]any{"name": "backup-job", "expiration": "never", "type": "managed"}},
		{"/api/v1/orgs/default/projects/default/api-keys", map[string]any{"name": "ingest-pipeline",
			"role_descriptors": map[string]any{"books-read-only": map[string]any{"indices": []any{map[string]any{"names": []string{"books"}, "privileges": []string{"read"}}}}}}},
		{"/api/v1/orgs/default/projects/analytics/api-keys", map[string]any{"name": "dashboard-reader", "expiration": "25d"}},
	} {
		api.do("POST", k.path, k.body, "Authorization", auth).must(t, 201)
	}
	old := api.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "old-cron", "expiration": "1s"}, "Authorization", auth).must(t, 201)
	testwait.For(t, 15*time.Second, "the one-second key to expire", func() bool {
		return api.do("GET", "/api/v1/orgs/default/api-keys/"+old.str("id"), nil, "Authorization", auth).str("status") == "expired"
	})
}

func login(t *testing.T, b *browser) {
	b.do("open the console", chromedp.Navigate(b.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)))
	b.shot("01-login")
	b.do("log in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), owner),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "not-the-password"),
		chromedp.Click(chromedp.CSS(`form.login-card button[type="submit"]`)))
	b.waitJS("the wrong password is refused", `document.querySelector('#login-error').textContent.includes('Wrong member name or password')`)
	b.setValue(`input[name="password"]`, "")
	b.do("log in",
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password+"\n"),
		chromedp.WaitVisible(chromedp.ID("keys-table")))
	b.waitJS("the seeded keys are listed", `document.querySelectorAll('#keys-table tbody tr[data-key-id]').length === 6`)
	b.waitJS("a key expiring in 12 days is highlighted",
		`[...document.querySelectorAll('tr.expiring')].some(r => r.textContent.includes('ci-deploy') && r.textContent.includes('in 12 days'))`)
	b.waitJS("statuses use the seeds' words", `(() => { const t = document.querySelector('#keys-table tbody').textContent;
		return t.includes('Active') && t.includes('Expired') })()`)
	b.shot("02-keys")
}

// createKey creates a key in the dialog, with an inline validation error
// first, and returns the encoded key the dialog shows once.
func createKey(t *testing.T, b *browser) string {
	b.do("open the dialog with the keyboard", chromedp.Focus(chromedp.ID("create-key")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("key-name")))
	b.waitJS("focus starts in the dialog", `document.activeElement.id === 'key-name'`)
	b.do("Escape closes it", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.ID("key-name")))
	b.waitJS("focus goes back to the button", `document.activeElement.id === 'create-key'`)
	b.do("open the create dialog", chromedp.Click(chromedp.ID("create-key")), chromedp.WaitVisible(chromedp.ID("key-name")))
	b.waitJS("expiration defaults to three months", `document.querySelector('#key-expiration').value === '3M'`)
	b.do("fill the form with broken JSON",
		chromedp.SendKeys(chromedp.ID("key-name"), "console-e2e"),
		chromedp.Click(chromedp.ID("key-restrict")),
		chromedp.WaitVisible(chromedp.ID("key-roles")))
	b.setValue("#key-roles", `{"reader": {"indices": [`)
	b.do("submit", chromedp.Click(chromedp.ID("create-submit")))
	b.waitJS("the JSON error shows next to the field", `document.querySelector('#key-roles-error').textContent.includes('not valid JSON') &&
		document.querySelector('#key-roles').getAttribute('aria-invalid') === 'true'`)
	b.shotDialog("03-create-key-validation")
	b.setValue("#key-roles", `{"logs-reader": {"cluster": [], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}}`)
	b.do("include metadata", chromedp.Click(chromedp.ID("key-include-metadata")), chromedp.WaitVisible(chromedp.ID("key-metadata")))
	b.setValue("#key-metadata", `{"team": "e2e"}`)
	b.do("create", chromedp.Click(chromedp.ID("create-submit")), chromedp.WaitVisible(chromedp.ID("created-key")))
	encoded := run(b, "read the shown key", chromedp.Value(chromedp.ID("created-key")))
	if encoded == "" {
		t.Fatal("the dialog shows no key")
	}
	csv := download(t, b, "#download-csv", "api-key-"+keyID(t, encoded)+".csv")
	if !strings.HasPrefix(csv, "id,name,expiration,api_key,encoded\r\n") || !strings.Contains(csv, encoded) {
		t.Fatalf("the CSV download is %q", csv)
	}
	b.waitJS("the copy button is there", `document.querySelector('#copy-key').textContent === 'Copy'`)
	b.shotDialog("04-key-created")
	b.do("close the dialog", chromedp.Click(chromedp.ID("created-done")), chromedp.WaitNotPresent(chromedp.ID("created-key")))
	b.waitJS("the new key is listed", `[...document.querySelectorAll('.key-link')].some(a => a.textContent === 'console-e2e')`)
	return encoded
}

// useKey calls the API with the key the console showed.
func useKey(t *testing.T, api client, encoded string) {
	r := api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+encoded).must(t, 200)
	k, _ := r.body["api_key"].(map[string]any)
	if k["name"] != "console-e2e" {
		t.Fatalf("whoami with the shown key: %s", r.raw)
	}
	if r.header.Get("X-Elastic-Api-Key-Expiration") == "" {
		t.Fatal("no X-Elastic-Api-Key-Expiration header")
	}
}

// updateKey changes privileges and metadata in the detail view.
func updateKey(t *testing.T, b *browser, api client, id string) {
	b.do("open the key", chromedp.Click(chromedp.CSS(`tr[data-key-id="`+id+`"] a.key-link`)), chromedp.WaitVisible(chromedp.ID("detail-metadata")))
	b.waitJS("the detail shows the key", `document.querySelector('#detail-name').textContent === 'console-e2e' &&
		document.querySelector('#detail-status').textContent === 'Active'`)
	b.setValue("#detail-roles", `{"logs-writer": {"indices": [{"names": ["logs-*"], "privileges": ["read", "write"]}]}}`)
	b.setValue("#detail-metadata", `{"team": "e2e", "rotated": true}`)
	b.do("save", chromedp.Click(chromedp.ID("save-key")))
	b.waitJS("saved", `document.querySelector('#toast').textContent.includes('Saved changes')`)
	k := api.do("GET", "/api/v1/orgs/default/api-keys/"+id, nil, "Authorization", basicAuth()).must(t, 200)
	md, _ := k.body["metadata"].(map[string]any)
	rd, _ := k.body["role_descriptors"].(map[string]any)
	if md["rotated"] != true || rd["logs-writer"] == nil || rd["logs-reader"] != nil {
		t.Fatalf("after the update the key is %s", k.raw)
	}
	b.shot("05-key-detail")
}

// bulkDelete creates two keys in the dialog and deletes both at once.
func bulkDelete(t *testing.T, b *browser, api client) {
	b.do("back to the list", chromedp.Click(chromedp.ID("nav-keys")), chromedp.WaitVisible(chromedp.ID("create-key")))
	var ids []string
	for _, name := range []string{"bulk-one", "bulk-two"} {
		b.do("create "+name, chromedp.Click(chromedp.ID("create-key")), chromedp.WaitVisible(chromedp.ID("key-name")),
			chromedp.SendKeys(chromedp.ID("key-name"), name), chromedp.Click(chromedp.ID("create-submit")),
			chromedp.WaitVisible(chromedp.ID("created-key")))
		ids = append(ids, keyID(t, run(b, "read "+name, chromedp.Value(chromedp.ID("created-key")))))
		b.do("close", chromedp.Click(chromedp.ID("created-done")), chromedp.WaitNotPresent(chromedp.ID("created-key")))
		b.waitJS(name+" is listed", `!!document.querySelector('tr[data-key-id="`+ids[len(ids)-1]+`"]')`)
	}
	for _, id := range ids {
		b.do("select "+id, chromedp.Click(chromedp.CSS(`tr[data-key-id="`+id+`"] input.row-select`)))
	}
	b.waitJS("two are selected", `document.querySelector('#bulk-delete').textContent === 'Delete 2 API keys'`)
	b.do("delete them", chromedp.Click(chromedp.ID("bulk-delete")), chromedp.WaitVisible(chromedp.ID("confirm-action")))
	b.shotDialog("06-bulk-delete-confirm")
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-action")), chromedp.WaitNotPresent(chromedp.ID("confirm-action")))
	for _, id := range ids {
		b.waitJS(id+" shows Invalidated", `(() => { const r = document.querySelector('tr[data-key-id="`+id+`"]');
			return r && r.dataset.status === 'invalidated' && r.querySelector('.badge').textContent === 'Invalidated' })()`)
		api.do("GET", "/api/v1/whoami", nil, "Authorization", "ApiKey "+id+":x").must(t, 401)
	}
	b.shot("07-keys-after-bulk-delete")
}

// filterAndSearch uses the server-side filter, search and sort.
func filterAndSearch(t *testing.T, b *browser) {
	b.setValue("#status-filter", "invalidated")
	b.waitJS("only invalidated keys", `(() => { const rows = [...document.querySelectorAll('#keys-table tbody tr[data-key-id]')];
		return rows.length === 2 && rows.every(r => r.dataset.status === 'invalidated') })()`)
	b.setValue("#status-filter", "")
	b.setValue("#key-search", "bulk")
	b.waitJS("search by name", `(() => { const rows = [...document.querySelectorAll('#keys-table tbody tr[data-key-id]')];
		return rows.length === 2 && location.hash.includes('q=bulk') })()`)
	b.setValue("#key-search", "")
	b.do("sort by name", chromedp.Click(chromedp.CSS(`button.sort[data-sort="name"]`)))
	b.waitJS("sorted by name", `(() => { const n = [...document.querySelectorAll('.key-link')].map(a => a.textContent);
		return n.length === 9 && n.join() === [...n].sort().join() })()`)
}

func contacts(t *testing.T, b *browser, api client) {
	b.do("open settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("contacts")))
	b.waitJS("the stored contacts are in", `!document.querySelector('#contacts').disabled`)
	b.setValue("#contacts", "ops@example.com\nnot-an-email")
	b.do("save bad contacts", chromedp.Click(chromedp.ID("save-contacts")))
	b.waitJS("the bad address is named", `document.querySelector('#contacts-error').textContent.includes('not-an-email')`)
	b.setValue("#contacts", "ops@example.com\nsecurity@example.com")
	b.do("save contacts", chromedp.Click(chromedp.ID("save-contacts")))
	b.waitJS("contacts saved", `document.querySelector('#toast').textContent.includes('Saved the operational contacts')`)
	r := api.do("GET", "/api/v1/orgs/default/contacts", nil, "Authorization", basicAuth()).must(t, 200)
	if fmt.Sprint(r.body["emails"]) != "[ops@example.com security@example.com]" {
		t.Fatalf("contacts: %s", r.raw)
	}
	b.shot("08-settings")
}

// members invites by email from the settings page, shows the pending
// invitation, and removes a member.
func members(t *testing.T, b *browser, api client) {
	testhttp.AddMember(t, api.base, basicAuth(), "default", testhttp.Member{Name: "dora", Password: "dora-password", Role: "viewer"})
	b.do("reload settings", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("invite-email")))
	b.waitJS("dora is listed", `!!document.querySelector('tr[data-member="dora"]')`)
	b.setValue("#invite-email", "newbie@example.com")
	b.setValue("#invite-role", "admin")
	b.do("invite", chromedp.Click(chromedp.ID("send-invite")))
	b.waitJS("the token is shown once", `(document.querySelector('#invite-token') || {}).value?.startsWith('kpinv_')`)
	b.waitJS("the invitation is pending", `[...document.querySelectorAll('#invitations tr[data-invitation]')].some(r => r.textContent.includes('newbie@example.com'))`)
	b.shot("08b-invitation")
	pending := api.do("GET", "/api/v1/orgs/default/invitations", nil, "Authorization", basicAuth()).must(t, 200)
	if !strings.Contains(pending.raw, "newbie@example.com") || strings.Contains(pending.raw, "kpinv_") {
		t.Fatalf("pending invitations: %s", pending.raw)
	}
	b.do("remove dora", chromedp.Click(chromedp.CSS(`tr[data-member="dora"] .remove-member`)), chromedp.WaitVisible(chromedp.ID("confirm-action")))
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-action")))
	b.waitJS("dora is gone", `!document.querySelector('tr[data-member="dora"]') && document.querySelector('#toast').textContent.includes('Removed dora')`)
	list := api.do("GET", "/api/v1/orgs/default/members", nil, "Authorization", basicAuth()).must(t, 200)
	if strings.Contains(list.raw, `"dora"`) {
		t.Fatalf("dora still a member: %s", list.raw)
	}
}

// audit shows the organization's timeline and the key's. Until the audit
// API is on this server the page must say it is unavailable, and nothing
// more is asserted.
func audit(t *testing.T, b *browser, api client, id string) {
	has := api.do("GET", "/api/v1/orgs/default/audit?size=1", nil, "Authorization", basicAuth()).status == 200
	b.do("open the audit log", chromedp.Click(chromedp.ID("nav-audit")), chromedp.WaitVisible(chromedp.ID("org-timeline")))
	if !has {
		b.waitJS("the page says the audit log is unavailable", `document.querySelector('#org-timeline').dataset.state === 'unavailable'`)
		b.shot("09-audit")
		t.Log("the audit API is not on this server: timeline checks skipped")
		return
	}
	b.waitJS("the org timeline shows the deletes", `document.querySelector('#org-timeline').dataset.state === 'loaded' &&
		document.querySelectorAll('#org-timeline li[data-type="KeyInvalidated"]').length === 2 &&
		!!document.querySelector('#org-timeline li[data-type="ContactsSet"]')`)
	b.setValue("#audit-type", "KeyCreated")
	b.waitJS("filter by event type", `(() => { const li = [...document.querySelectorAll('#org-timeline li')];
		return li.length > 0 && li.every(e => e.dataset.type === 'KeyCreated') })()`)
	b.setValue("#audit-type", "")
	b.waitJS("all events again", `!!document.querySelector('#org-timeline li[data-type="ContactsSet"]')`)
	b.shot("09-audit")
	b.do("open the key's page", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+id), chromedp.WaitVisible(chromedp.ID("key-timeline")))
	b.waitJS("the key's timeline", `document.querySelector('#key-timeline').dataset.state === 'loaded' &&
		!!document.querySelector('#key-timeline li[data-type="KeyUpdated"]') &&
		!!document.querySelector('#key-timeline li[data-type="KeyCreated"]') &&
		!document.querySelector('#key-timeline li[data-type="ContactsSet"]')`)
	b.shot("10-key-timeline")
}

// sessionCookie reads the HttpOnly session cookie through the DevTools
// protocol (a page script cannot) and checks its attributes.
func sessionCookie(t *testing.T, b *browser) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "keyplane_session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
				t.Fatalf("session cookie attributes: HttpOnly %v, SameSite %q, Path %q", c.HTTPOnly, c.SameSite, c.Path)
			}
			return c.Value
		}
	}
	t.Fatal("no session cookie in the browser")
	return ""
}

// csrfRefused: a state change with the cookie but without the session's
// token is refused, from the page itself and from outside; the same
// request with the token passes, so the token is what made the difference.
func csrfRefused(t *testing.T, b *browser, api client, cookie string) {
	status := js[int](b, "POST from the page without the token", `fetch('/api/v1/orgs/default/api-keys', {method: 'POST',
		headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'csrf-probe'})}).then(r => r.status)`)
	if status != 403 {
		t.Fatalf("a POST without the CSRF token answered %d, want 403", status)
	}
	ck := "keyplane_session=" + cookie
	const keys = "/api/v1/orgs/default/api-keys"
	body := map[string]any{"name": "csrf-probe"}
	r := api.do("POST", keys, body, "Cookie", ck).must(t, 403)
	if !strings.Contains(r.str("reason")+r.raw, "CSRF") {
		t.Fatalf("the refusal does not say why: %s", r.raw)
	}
	api.do("POST", keys, body, "Cookie", ck, "X-CSRF-Token", "forged").must(t, 403)
	api.do("DELETE", keys+"/anything", nil, "Cookie", ck).must(t, 403)
	api.do("POST", "/console/logout", nil, "Cookie", ck).must(t, 403)
	token := api.do("GET", "/console/session", nil, "Cookie", ck).must(t, 200).str("csrf_token")
	api.do("POST", keys, body, "Cookie", ck, "X-CSRF-Token", token, "Origin", "http://evil.example").must(t, 403)
	api.do("POST", keys, body, "Cookie", ck, "X-CSRF-Token", token, "Sec-Fetch-Site", "cross-site").must(t, 403)
	api.do("POST", keys, body, "Cookie", ck, "X-CSRF-Token", token).must(t, 201)
	api.do("GET", "/api/v1/whoami", nil, "Cookie", ck).must(t, 200)
}

// logout ends the session: the page shows the login form, and the cookie
// captured before is refused afterwards.
func logout(t *testing.T, b *browser, api client, cookie string) {
	b.do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)))
	b.waitJS("logged out", `document.querySelector('#toast').textContent.includes('logged out') && document.getElementById('topbar').hidden`)
	status := js[int](b, "the API without a session", `fetch('/api/v1/whoami').then(r => r.status)`)
	if status != 401 {
		t.Fatalf("whoami after logout answered %d, want 401", status)
	}
	ck := "keyplane_session=" + cookie
	api.do("GET", "/console/session", nil, "Cookie", ck).must(t, 401)
	api.do("GET", "/api/v1/whoami", nil, "Cookie", ck).must(t, 401)
}

// apiKeyRefused: an API key opens nothing in the console, not even its
// pages, and cannot log in.
func apiKeyRefused(t *testing.T, b *browser, api client, encoded string) {
	auth := "ApiKey " + encoded
	for _, path := range []string{"/console/", "/console/js/main.js", "/console/session"} {
		r := api.do("GET", path, nil, "Authorization", auth).must(t, 403)
		if !strings.Contains(r.raw, "API keys are for programmatic access, not a browser") {
			t.Fatalf("GET %s with an API key: %s", path, r.raw)
		}
	}
	api.do("POST", "/console/login", map[string]any{"name": owner, "password": password}, "Authorization", auth).must(t, 403)
	id, secret, _ := strings.Cut(decoded(t, encoded), ":")
	api.do("POST", "/console/login", map[string]any{"name": id, "password": secret}).must(t, 401)

	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	resp := run(b, "open the console with an API key", chromedp.NavigateResponse(b.base+"/console/"))
	if resp.Status != 403 {
		t.Fatalf("the console with an API key answered %d, want 403", resp.Status)
	}
	b.waitJS("the browser shows why", `document.body.textContent.includes('API keys are for programmatic access, not a browser')`)
	b.shot("11-api-key-refused")
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}); err != nil {
		t.Fatal(err)
	}
}

func decoded(t *testing.T, encoded string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// download clicks a download link and returns the file Chromium saved.
func download(t *testing.T, b *browser, sel, name string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	b.do("download", chromedp.Click(chromedp.CSS(sel)))
	var raw []byte
	if !testwait.Until(10*time.Second, func() bool {
		var err error
		raw, err = os.ReadFile(filepath.Join(dir, name))
		return err == nil && len(raw) > 0
	}) {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("no %s downloaded; the folder has %v", name, entries)
	}
	return string(raw)
}
