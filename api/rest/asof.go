package rest

import (
	"net/http"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// listKeysAsOf answers GET .../api-keys?as_of=<sequence | RFC 3339 time>:
// the key list as it was then, folded from the log, with statuses judged
// at that moment. Owners only: it shows keys revoked since, and their
// history. It folds the organization's key history up to that point from
// the log (tens of thousands of events a second on a small machine), within
// the usual 15 s command deadline (503 past it).
func (s *keysAPI) listKeysAsOf(w http.ResponseWriter, r *http.Request, p domain.Principal, ks keyScope, f projections.Filter, pg projections.Page) error {
	if s.trail == nil {
		return domain.Invalid("as_of is not available on this server")
	}
	if err := p.Authorize(domain.ActionKeysAsOf, domain.Target{Tenant: ks.org.ID, Project: ks.project}); err != nil {
		if domain.IsKind(err, domain.KindForbidden) {
			return domain.Forbidden("as_of is for owners of the organization")
		}
		return err
	}
	at, err := projections.ParseAsOf(r.URL.Query().Get("as_of"), s.now())
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	past, err := projections.KeysAsOf(ctx, s.trail.Log, ks.org.ID, at)
	if err != nil {
		return err
	}
	// Statuses, and whether a key exceeded the policy, are judged as
	// they were then, under the policy of then.
	f.Now, f.Policy = past.StatusTime(at), past.Policy
	if err := usedBefore(r.URL.Query(), &f); err != nil {
		return err
	}
	keys, total := past.List(f, pg)
	out := make([]keyView, len(keys))
	for i := range keys {
		out[i] = viewKeyAt(&keys[i], past.Policy, f.Now)
	}
	body := listAnswer(total, pg, keys, out, f.Now)
	body["as_of"] = map[string]any{"seq": past.Seq, "time": past.When(), "policy": past.Policy}
	if poisoned := past.Poisoned(); len(poisoned) > 0 {
		// Events this keyplane cannot read: the keys they concern are
		// left out of the list rather than shown in a state that may lack
		// them.
		body["unreadable_events"] = poisoned
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
