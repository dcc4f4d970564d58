package es_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/keyplane/keyplane/api/es"
)

// TestOwnKeysQueriesAnswerAsAScanOfTheOwnersKeys: a caller who may query
// only its own keys (manage_own_api_key) is answered from its username's
// postings (a user) or its own id (an API key): exactly what a scan of
// every key, filtered to that owner or that key, answers.
func TestOwnKeysQueriesAnswerAsAScanOfTheOwnersKeys(t *testing.T) {
	a := startApp(t)
	base, owner := a.URL(), basic(ownerAuth)
	esDo(t, "PUT", base+"/_security/role/own", owner, `{"cluster": ["manage_own_api_key"]}`).Must(t, 200)
	users := map[string]string{"owner": owner}
	for _, u := range []string{"ann", "bob"} {
		esDo(t, "PUT", base+"/_security/user/"+u, owner, `{"password": "`+u+`-password", "roles": ["own"]}`).Must(t, 200)
		users[u] = basic(u + ":" + u + "-password")
	}
	rng := rand.New(rand.NewPCG(27, 21))
	creators := []string{"owner", "ann", "bob"}
	var annKey map[string]any
	for i := range 90 {
		body := fmt.Sprintf(`{"name": "k%d", "metadata": {"team": "t%d"}}`, rng.IntN(9), rng.IntN(3))
		if rng.IntN(3) == 0 {
			body = fmt.Sprintf(`{"name": "k%d", "expiration": "%dd"}`, rng.IntN(9), 1+rng.IntN(4))
		}
		r := esDo(t, "POST", base+"/_security/api_key", users[creators[i%3]], body).Must(t, 200)
		if i == 31 {
			annKey = r.Body
		}
	}
	keyAuth := "ApiKey " + annKey["encoded"].(string)
	queries := []string{`{"match_all": {}}`, `{"prefix": {"name": "k1"}}`, `{"term": {"metadata.team": "t1"}}`,
		`{"exists": {"field": "expiration"}}`, `{"bool": {"must_not": {"term": {"name": "k2"}}}}`, `{"ids": {"values": ["` + annKey["id"].(string) + `"]}}`}
	sorts := []string{`[]`, `["name"]`, `[{"creation": "desc"}]`, `["expiration", "name"]`}
	for range 80 {
		q := queries[rng.IntN(len(queries))]
		rest := fmt.Sprintf(`"sort": %s, "size": %d, "from": %d`, sorts[rng.IntN(len(sorts))], rng.IntN(20), rng.IntN(4))
		for _, who := range []struct{ auth, bound string }{
			{users["ann"], `{"term": {"username": "ann"}}`},
			{users["bob"], `{"term": {"username": "bob"}}`},
			{keyAuth, `{"ids": {"values": ["` + annKey["id"].(string) + `"]}}`},
		} {
			before := es.Scans()
			own := esDo(t, "POST", base+"/_security/_query/api_key", who.auth, `{"query": `+q+`, `+rest+`}`).Must(t, 200)
			if es.Scans() != before {
				t.Fatalf("%s, %s by the owner of %s reads every key", q, rest, who.bound)
			}
			scanned := esDo(t, "POST", base+"/_security/_query/api_key", owner,
				`{"query": {"bool": {"must_not": {"bool": {"must_not": {"bool": {"filter": [`+q+`, `+who.bound+`]}}}}}}, `+rest+`}`).Must(t, 200)
			if es.Scans() != before+1 {
				t.Fatalf("%s, %s wrapped in a must_not of a must_not is not a scan", q, rest)
			}
			if !reflect.DeepEqual(own.Body, scanned.Body) {
				t.Fatalf("%s, %s, bound by %s:\nown     %v\nscanned %v", q, rest, who.bound, own.Body, scanned.Body)
			}
		}
	}
}
