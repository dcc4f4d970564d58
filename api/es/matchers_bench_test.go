package es_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// matcherShapes are patterns of n bytes that cost a backtracking matcher
// most against names of 'a': a long literal, a long run of '?' and
// literals, many stars; none matches, which is found only at the end.
func matcherShapes(n int) map[string]string {
	return map[string]string{
		"literal":  "*" + strings.Repeat("a", n-3) + "b*",
		"question": "*" + strings.Repeat("a?", (n-3)/2) + "b*",
		"stars":    strings.Repeat("*a", (n-2)/2) + "*b*",
	}
}

// BenchmarkESHasPrivileges: POST /_security/user/_has_privileges with an
// API key whose descriptor holds 64 index patterns of n bytes (16 entries
// of the shapes above and a prefix), asked about 64 index names of n bytes
// and two privileges: about 8,000 pattern checks a request. n is the
// limit of index names and patterns (255) and a tenth of it: ns/op and
// B/op grow about tenfold, not a hundredfold.
func BenchmarkESHasPrivileges(b *testing.B) {
	a := startApp(b)
	owner := basic(ownerAuth)
	for _, n := range []int{25, 255} {
		var entries []map[string]any
		for i := 0; i < 16; i++ {
			shapes := matcherShapes(n)
			names := []string{shapes["literal"], shapes["question"], shapes["stars"], strings.Repeat("a", n-1) + "*"}
			entries = append(entries, map[string]any{"names": names, "privileges": []string{"read"}})
		}
		create, _ := json.Marshal(map[string]any{"name": "hp-" + strconv.Itoa(n),
			"role_descriptors": map[string]any{"r": map[string]any{"indices": entries}}})
		k := esDo(b, "POST", a.URL()+"/_security/api_key", owner, string(create)).Must(b, 200)
		var names []string
		for i := 0; i < 64; i++ {
			names = append(names, strings.Repeat("a", n-3)+fmt.Sprintf("%03d", i))
		}
		req, _ := json.Marshal(map[string]any{"index": []any{map[string]any{"names": names, "privileges": []string{"read", "write"}}}})
		url, auth := a.URL()+"/_security/user/_has_privileges", "ApiKey "+k.Str("encoded")
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			c := benchClient()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				benchGet(b, c, "POST", url, auth, string(req))
			}
		})
	}
}

// wildcardKeys is how many keys BenchmarkESWildcardQuery searches.
const wildcardKeys = 500

// BenchmarkESWildcardQuery: a wildcard query of n bytes (1024, the limit
// of wildcard values, and a tenth of it) over 500 keys whose metadata
// holds four values of 4n bytes (8 MB of metadata at n = 1024), one shape
// at a time. Work and B/op should grow with n (tenfold input): '*'-only
// shapes linearly; '?' segments also with their ⌈len/64⌉ words, 2 at a
// tenth and 16 at the limit.
func BenchmarkESWildcardQuery(b *testing.B) {
	a := startApp(b)
	owner := basic(ownerAuth)
	sizes := []int{102, 1024}
	for _, n := range sizes {
		fillLongMetadata(b, a.URL(), owner, n)
	}
	url := a.URL() + "/_security/_query/api_key"
	for _, shape := range []string{"literal", "question", "stars"} {
		for _, n := range sizes {
			q, _ := json.Marshal(map[string]any{"query": map[string]any{"wildcard": map[string]any{
				"metadata.s" + strconv.Itoa(n): map[string]any{"value": matcherShapes(n)[shape]}}}, "size": 10})
			b.Run(shape+"/n="+strconv.Itoa(n), func(b *testing.B) {
				c := benchClient()
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					benchGet(b, c, "POST", url, owner, string(q))
				}
			})
		}
	}
}

// fillLongMetadata creates wildcardKeys keys whose metadata field s<n>
// holds four values of 4n bytes of 'a'.
func fillLongMetadata(b *testing.B, base, auth string, n int) {
	v := strings.Repeat("a", 4*n)
	body, _ := json.Marshal(map[string]any{"name": "long-" + strconv.Itoa(n),
		"metadata": map[string]any{"s" + strconv.Itoa(n): []string{v, v, v, v}}})
	var wg sync.WaitGroup
	next := make(chan int)
	c := benchClient()
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for range next {
				benchGet(b, c, "POST", base+"/_security/api_key", auth, string(body))
			}
		})
	}
	for i := 0; i < wildcardKeys; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
