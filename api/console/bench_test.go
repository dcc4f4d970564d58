package console_test

// How the keys table scales: the server answers one page of 50, sorted and
// filtered, so the page costs about the same with 10,000 keys as with 100;
// and a page turn in Chromium (request, render) stays short.
//
//	go test ./api/console/ -run '^$' -bench . -count 5

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
)

// seedKeys creates n organization keys through the API, 16 at a time.
func seedKeys(tb testing.TB, api client, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan string, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				exp := fmt.Sprintf("%dd", 1+i%400)
				r := api.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": fmt.Sprintf("key-%05d", i), "expiration": exp},
					"Authorization", basicAuth())
				if r.status != http.StatusCreated {
					select {
					case errs <- r.raw:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case e := <-errs:
		tb.Fatalf("seeding keys: %s", e)
	default:
	}
}

// BenchmarkKeysPage is the request the table makes: one page of 50, with a
// name search and a sort, by the session cookie. Baselines in the same
// run: 100 keys in the organization, and the whole list in one answer
// (what a table without server-side paging would need).
func BenchmarkKeysPage(b *testing.B) {
	for _, c := range []struct {
		keys int
		size int
	}{{100, 50}, {10000, 50}, {10000, 10000}} {
		b.Run(fmt.Sprintf("keys=%d/size=%d", c.keys, c.size), func(b *testing.B) {
			a := startKeyplane(b)
			api := client{t: b, base: a.URL()}
			seedKeys(b, api, c.keys)
			path := fmt.Sprintf("/api/v1/orgs/default/api-keys?size=%d&sort=expiration&name=*key-0*", c.size)
			b.ResetTimer()
			for b.Loop() {
				api.do("GET", path, nil, "Authorization", basicAuth()).must(b, 200)
			}
		})
	}
}

// BenchmarkTablePageTurn is a page turn in Chromium with 10,000 keys:
// from the click on "Next" to the new rows in the table. It reports the
// median of the turns it made.
func BenchmarkTablePageTurn(b *testing.B) {
	exe := chromium(b)
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			a := startKeyplane(b)
			seedKeys(b, client{t: b, base: a.URL()}, n)
			br := newBrowser(b, exe, a.URL())
			br.logIn()
			var ms []float64
			b.ResetTimer()
			for b.Loop() {
				ms = append(ms, js[float64](br, "turn a page", `new Promise((done) => {
					const table = document.querySelector('#keys-table');
					const first = () => table.querySelector('tbody tr[data-key-id]')?.dataset.keyId;
					const before = first();
					const next = document.querySelector('#page-next');
					const button = next.disabled ? document.querySelector('#page-prev') : next;
					const t0 = performance.now();
					new MutationObserver((_, obs) => {
						if (first() !== before && !table.hasAttribute('aria-busy')) { obs.disconnect(); done(performance.now() - t0); }
					}).observe(table, {childList: true, subtree: true, attributes: true});
					button.click();
				})`))
			}
			b.StopTimer()
			sort.Float64s(ms)
			b.ReportMetric(ms[len(ms)/2], "ms/turn-median")
		})
	}
}
