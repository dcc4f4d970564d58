package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// cleanupFilter is a cleanup's filter: the key list's filters, as JSON.
type cleanupFilter struct {
	Name          string `json:"name"`
	Owner         string `json:"owner"`
	Status        string `json:"status"`
	Scope         string `json:"scope"`
	Type          string `json:"type"`
	UsedBefore    string `json:"used_before"`
	NeverUsed     *bool  `json:"never_used"`
	ExceedsPolicy *bool  `json:"exceeds_policy"`
}

// values is the filter as the list's query, so that both are read and
// checked by one parser (listParamsOf).
func (c cleanupFilter) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"name": c.Name, "owner": c.Owner, "status": c.Status, "scope": c.Scope,
		"type": c.Type, "used_before": c.UsedBefore} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range map[string]*bool{"never_used": c.NeverUsed, "exceeds_policy": c.ExceedsPolicy} {
		if v != nil {
			q.Set(k, strconv.FormatBool(*v))
		}
	}
	return q
}

// revokeWorkers is how many revocations of a cleanup are in flight at once
// (the log's group commit gathers them).
const revokeWorkers = 8

// revokeByFilter is a cleanup: POST .../api-keys/_bulk_delete with
// {"filter": {...}, "dry_run": true} answers how many keys not yet revoked
// the filter matches and (up to MaxPreviewIDs of) their ids, revoking
// nothing; with "expected_count": N instead, it revokes them all if they
// are still N, or answers 409 without revoking any. Owners and admins only
// (domain.ActionRevokeByFilter); every revocation carries the request's
// correlation id, so the audit trail shows the cleanup as one.
func (s *keysAPI) revokeByFilter(w http.ResponseWriter, r *http.Request, p domain.Principal, req bulkDeleteRequest) error {
	switch {
	case req.Filter == nil:
		return domain.Invalid("[dry_run] and [expected_count] go with a [filter]")
	case len(req.IDs) > 0:
		return domain.Invalid("give [ids] or a [filter], not both")
	case req.DryRun == (req.ExpectedCount != nil):
		return domain.Invalid("a [filter] takes either \"dry_run\": true (a preview) or the [expected_count] the preview answered (to revoke)")
	case req.ExpectedCount != nil && (*req.ExpectedCount < 0 || *req.ExpectedCount > domain.MaxRevokeByFilter):
		return domain.Invalid("[expected_count] must be from 0 to %d", domain.MaxRevokeByFilter)
	}
	q := req.Filter.values()
	if q.Get("status") == string(domain.StatusInvalidated) {
		return domain.Invalid("[status] invalidated matches no key to revoke: use active or expired")
	}
	f, _, err := listParamsOf(q)
	if err != nil {
		return err
	}
	ks, err := s.keyScope(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionRevokeByFilter, domain.Target{Tenant: ks.org.ID, Project: ks.project}); err != nil {
		if domain.IsKind(err, domain.KindForbidden) {
			return domain.Forbidden("revoking keys by filter is for owners and admins of the organization")
		}
		return err
	}
	f.Tenant, f.Project, f.Now, f.Policy, f.Revocable = ks.org.ID, ks.project, s.now(), ks.org.Policy, true
	if err := usedBefore(q, &f); err != nil {
		return err
	}
	keys, n := s.keys.List(f, projections.Page{Sort: "created", Size: -1})
	if req.DryRun {
		ids := make([]domain.KeyID, 0, min(n, domain.MaxPreviewIDs))
		for i := range keys[:min(n, domain.MaxPreviewIDs)] {
			ids = append(ids, keys[i].ID)
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"matched": n, "ids": ids})
		return nil
	}
	if n != *req.ExpectedCount {
		return domain.Conflict("the filter matches %d keys now, not the %d expected: nothing was revoked, preview again", n, *req.ExpectedCount)
	}
	if n > domain.MaxRevokeByFilter {
		return domain.Invalid("the filter matches %d keys, over the limit of %d per request: narrow it", n, domain.MaxRevokeByFilter)
	}
	revoked, failed := s.revokeAll(w, r, p, ks, keys)
	out := map[string]any{"matched": n, "revoked": revoked}
	if len(failed) > 0 {
		out["error_count"], out["error_details"] = len(failed), failed
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// revokeFailure is a key a cleanup could not revoke, and why.
type revokeFailure struct {
	ID     domain.KeyID `json:"id"`
	Type   string       `json:"type"`
	Reason string       `json:"reason"`
	Status int          `json:"status"`
}

// revokeAll revokes keys, revokeWorkers at a time, each under the
// request's envelope (actor, source, correlation id).
func (s *keysAPI) revokeAll(w http.ResponseWriter, r *http.Request, p domain.Principal, ks keyScope, keys []domain.Key) (int, []revokeFailure) {
	m := httpx.Meta(w, r, p)
	var (
		mu      sync.Mutex
		revoked int
		failed  = []revokeFailure{}
		wg      sync.WaitGroup
	)
	work := make(chan domain.KeyID)
	for range min(revokeWorkers, len(keys)) {
		wg.Go(func() {
			for id := range work {
				ctx, cancel := httpx.CmdCtx(r)
				did, err := s.commands.InvalidateKey(ctx, p, m, ks.org.ID, id, "")
				cancel()
				mu.Lock()
				if err != nil {
					status, typ := httpx.StatusOf(domain.KindOf(err))
					failed = append(failed, revokeFailure{id, typ, domain.ReasonOf(err), status})
				} else if did {
					revoked++
				}
				mu.Unlock()
			}
		})
	}
	for i := range keys {
		work <- keys[i].ID
	}
	close(work)
	wg.Wait()
	return revoked, failed
}
