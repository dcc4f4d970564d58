package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleCrossClusterKeys is a cross-cluster key in a real Chromium:
// created from the dialog, its type in the list and on its page, the list
// filtered by type (in the URL too), and its access changed from its page.
func TestConsoleCrossClusterKeys(t *testing.T) {
	exe := chromium(t)
	a := startKeyplane(t)
	api := client{t: t, base: a.URL()}
	const keys = "/api/v1/orgs/default/projects/default/api-keys"
	cc := api.do("POST", keys, map[string]any{"name": "remote-search", "type": "cross_cluster",
		"access": map[string]any{"search": []any{map[string]any{"names": []string{"logs-*"}}}}}, "Authorization", basicAuth()).must(t, 201).str("id")
	rest := api.do("POST", keys, map[string]any{"name": "deploy-bot"}, "Authorization", basicAuth()).must(t, 201).str("id")
	b := newBrowser(t, exe, a.URL())
	b.logIn()

	b.do("open the create dialog", chromedp.Click(chromedp.ID("create-key")), chromedp.WaitVisible(chromedp.ID("key-type")))
	b.setValue("#key-name", "replicator")
	b.setValue("#key-type", "cross_cluster")
	b.waitJS("a cross-cluster key takes an access, under a project", `!document.querySelector('#key-access').closest('.field').hidden &&
		document.querySelector('#key-restrict').closest('.toggle').hidden && document.querySelector('#key-scope').value === 'default' &&
		document.querySelector('#key-scope').options[0].disabled`)
	b.setValue("#key-access", `{"replication": [{"names": ["archive-*"]}]}`)
	b.shotDialog("19-create-cross-cluster-key")
	b.do("create it", chromedp.Click(chromedp.ID("create-submit")), chromedp.WaitVisible(chromedp.ID("created-key")))
	made := keyID(t, run(b, "read the new key", chromedp.Value(chromedp.ID("created-key"))))
	got := api.do("GET", keys+"/"+made, nil, "Authorization", basicAuth()).must(t, 200)
	if got.str("type") != "cross_cluster" || !strings.Contains(got.raw, `"replication":[{"names":["archive-*"]`) {
		t.Fatalf("the key the dialog made: %s", got.raw)
	}
	b.do("close the dialog", chromedp.Click(chromedp.ID("created-done")), chromedp.WaitNotPresent(chromedp.ID("created-key")))

	rows := `[...document.querySelectorAll('#keys-table tbody tr[data-key-id]')]`
	b.waitJS("the list shows each key's type", `(() => {
		const ty = (id) => (document.querySelector('tr[data-key-id="' + id + '"] td[data-label="Type"]') || {}).textContent;
		return ty('`+cc+`') === 'Cross-cluster' && ty('`+rest+`') === 'Personal' })()`)
	b.setValue("#type-filter", "cross_cluster")
	b.waitJS("only the cross-cluster key, and the filter in the URL", `(() => { const r = `+rows+`;
		return r.length === 2 && r.every(x => x.dataset.keyId === '`+cc+`' || x.dataset.keyId === '`+made+`') &&
			location.hash.includes('type=cross_cluster') })()`)
	b.shot("17-keys-filtered-by-type")
	b.setValue("#type-filter", "rest")
	b.waitJS("only rest keys", `(() => { const r = `+rows+`; return r.length === 1 && r[0].dataset.keyId === '`+rest+`' })()`)

	b.do("open the cross-cluster key's page", chromedp.Navigate(b.base+"/console/#/o/default/keys/"+cc+"?project=default"),
		chromedp.WaitVisible(chromedp.ID("detail-access")))
	b.waitJS("its type and access are shown, and no privileges editor", `document.querySelector('#detail-type').textContent.startsWith('Cross-cluster') &&
		JSON.parse(document.querySelector('#detail-access').value).search[0].names[0] === 'logs-*' && !document.querySelector('#detail-restrict')`)
	b.setValue("#detail-access", `{"search": [{"names": ["logs-*"], "privileges": ["all"]}]}`)
	b.do("save an access with privileges", chromedp.Click(chromedp.ID("save-key")))
	b.waitJS("the page refuses it before the server", `document.querySelector('#detail-access-error').textContent.includes('may not list privileges')`)
	b.setValue("#detail-access", `{"replication": [{"names": ["archive-*"]}]}`)
	b.do("save a new access", chromedp.Click(chromedp.ID("save-key")))
	b.waitJS("the key's timeline shows the update", `document.querySelector('#key-timeline').dataset.state === 'loaded' &&
		!!document.querySelector('#key-timeline li[data-type="KeyUpdated"]')`)
	b.shot("18-cross-cluster-key")
	got = api.do("GET", keys+"/"+cc, nil, "Authorization", basicAuth()).must(t, 200)
	if !strings.Contains(got.raw, `"access":{"replication":[{"names":["archive-*"],"allow_restricted_indices":false}]}`) ||
		!strings.Contains(got.raw, `"cluster":["cross_cluster_replication"]`) {
		t.Fatalf("the key after the console's update: %s", got.raw)
	}
	for _, p := range b.consoleProblems() {
		t.Errorf("the page printed %s", p)
	}
}
