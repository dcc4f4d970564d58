package es

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// ownsRequest is Elasticsearch's rule for callers with only
// manage_own_api_key: an API key may name itself by id; a user must say
// owner=true, or name itself by username and realm.
func (x *esReq) ownsRequest(ids []string, username, realm string, owner bool) bool {
	if x.p.Kind == domain.ActorKey {
		if len(ids) == 0 {
			return false
		}
		for _, id := range ids {
			if id != string(x.p.KeyID) {
				return false
			}
		}
		return true
	}
	return owner || username != "" && realm != "" && username == x.p.User && realm == x.p.RealmName()
}

// keyFilter selects keys as get and invalidate do.
type keyFilter struct {
	ids             map[string]bool
	name, user, rlm string
	onlyOwn         bool
	activeOnly      bool
}

func (x *esReq) keyMatch(f keyFilter) func(*domain.Key) bool {
	now := x.s.now()
	return func(k *domain.Key) bool {
		switch {
		case f.ids != nil && !f.ids[string(k.ID)]:
		case f.name != "" && f.name != "*" && !domain.MatchWildcard(f.name, k.Name):
		case f.user != "" && k.Owner.User != f.user:
		case f.rlm != "" && k.Owner.Realm != f.rlm:
		case f.onlyOwn && !esOwns(x.p, k):
		case f.activeOnly && k.Status(now) != domain.StatusActive:
		default:
			return true
		}
		return false
	}
}

func idSet(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (s *Server) esGetKeys(x *esReq) error {
	if err := esParams(x.r, "id", "name", "username", "realm_name", "owner", "with_limited_by", "active_only", "with_profile_uid"); err != nil {
		return err
	}
	q := x.r.URL.Query()
	owner, err := esBool(x.r, "owner", false)
	if err != nil {
		return err
	}
	withLimitedBy, err := esBool(x.r, "with_limited_by", false)
	if err != nil {
		return err
	}
	activeOnly, err := esBool(x.r, "active_only", false)
	if err != nil {
		return err
	}
	f := keyFilter{name: q.Get("name"), user: q.Get("username"), rlm: q.Get("realm_name"), activeOnly: activeOnly}
	var ids []string
	if id := q.Get("id"); id != "" {
		ids = []string{id}
	}
	switch {
	case owner && (f.user != "" || f.rlm != ""):
		return domain.Invalid("Validation Failed: 1: username or realm name must not be specified when the current user owner flag is set;")
	case len(ids) > 0 && f.name != "":
		return domain.Invalid("Validation Failed: 1: only one of [api key id, api key name] can be specified;")
	}
	if !x.can(domain.ActionGetKey, false) {
		// An API key needs manage_api_key to see any limited-by.
		if !x.ownsRequest(ids, f.user, f.rlm, owner) || x.p.Kind == domain.ActorKey && withLimitedBy {
			return x.denied(domain.ActionGetKey)
		}
		if err := x.authorize(domain.ActionGetKey, true); err != nil {
			return err
		}
		f.onlyOwn = true
	}
	f.ids = idSet(ids)
	if owner {
		f.onlyOwn = true
	}
	keys := x.projectKeys(x.keyMatch(f))
	out := make([]esKeyView, len(keys))
	for i := range keys {
		out[i] = s.esView(&keys[i], withLimitedBy)
	}
	return x.write(http.StatusOK, map[string]any{"api_keys": out})
}

func (s *Server) esInvalidateKeys(x *esReq) error {
	var req struct {
		IDs       []string `json:"ids"`
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		RealmName string   `json:"realm_name"`
		Username  string   `json:"username"`
		Owner     bool     `json:"owner"`
	}
	if err := x.decodeCommand(&req); err != nil {
		return err
	}
	if err := validateInvalidate(req.IDs, req.ID, req.Name, req.Username, req.RealmName, req.Owner); err != nil {
		return err
	}
	if req.ID != "" {
		req.IDs = []string{req.ID}
	}
	f := keyFilter{ids: idSet(req.IDs), name: req.Name, user: req.Username, rlm: req.RealmName, onlyOwn: req.Owner}
	if !x.can(domain.ActionInvalidateKey, false) {
		if !x.ownsRequest(req.IDs, req.Username, req.RealmName, req.Owner) {
			return x.denied(domain.ActionInvalidateKey)
		}
		if err := x.authorize(domain.ActionInvalidateKey, true); err != nil {
			return err
		}
		f.onlyOwn = true
	}
	if len(req.IDs) > httpx.MaxBulk {
		return domain.Invalid("Validation Failed: 1: at most [%d] ids per request;", httpx.MaxBulk)
	}
	return x.write(http.StatusOK, s.invalidateAll(x, x.projectKeys(x.keyMatch(f))))
}

func validateInvalidate(ids []string, id, name, user, realm string, owner bool) error {
	fail := func(msg string) error { return domain.Invalid("Validation Failed: 1: %s;", msg) }
	switch {
	case id != "" && len(ids) > 0:
		return fail("Must use either [id] or [ids], not both at the same time")
	case owner && (user != "" || realm != ""):
		return fail("username or realm name must not be specified when the current user owner flag is set")
	case !owner && id == "" && len(ids) == 0 && name == "" && user == "" && realm == "":
		return fail("One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false")
	case (id != "" || len(ids) > 0) && name != "":
		return fail("only one of [api key id(s), api key name] can be specified")
	}
	for _, i := range ids {
		if i == "" {
			return fail("Field [ids] cannot contain null or empty values")
		}
	}
	return nil
}

// invalidateAll revokes keys concurrently (so that the log commits them
// in groups) and reports them as Elasticsearch does.
func (s *Server) invalidateAll(x *esReq, keys []domain.Key) map[string]any {
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	type result struct {
		did bool
		err error
	}
	results := make([]result, len(keys))
	m := x.meta()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range keys {
		if keys[i].Invalidated {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			did, err := s.commands.InvalidateKey(ctx, x.p, m, x.org.ID, keys[i].ID, "")
			results[i] = result{did, err}
		}(i)
	}
	wg.Wait()
	fresh, prev, details := []domain.KeyID{}, []domain.KeyID{}, []map[string]any{}
	for i, k := range keys {
		switch r := results[i]; {
		case r.err != nil:
			status, typ := httpx.StatusOf(domain.KindOf(r.err))
			details = append(details, map[string]any{"type": typ, "reason": domain.ReasonOf(r.err), "status": status, "id": k.ID})
		case r.did:
			fresh = append(fresh, k.ID)
		default:
			prev = append(prev, k.ID)
		}
	}
	out := map[string]any{"invalidated_api_keys": fresh, "previously_invalidated_api_keys": prev, "error_count": len(details)}
	if len(details) > 0 {
		out["error_details"] = details
	}
	return out
}

// esUpdateBody is the body of the update APIs; every field is optional.
type esUpdateBody struct {
	IDs             []string        `json:"ids"`
	RoleDescriptors json.RawMessage `json:"role_descriptors"`
	Metadata        *map[string]any `json:"metadata"`
	Expiration      *string         `json:"expiration"`
}

// command is the update of rest keys: Elasticsearch's update and bulk
// update APIs refuse cross-cluster keys.
func (b esUpdateBody) command() domain.UpdateKey {
	return domain.UpdateKey{RoleDescriptors: nullIsAbsent(b.RoleDescriptors), Metadata: b.Metadata, Expiration: b.Expiration,
		SnapshotLimits: true, ExpectType: domain.ESTypeRest}
}

// updateOwn updates one of the caller's keys: Elasticsearch updates only
// keys the caller owns, and refreshes their limited_by to the owner's
// current permission.
func (s *Server) updateOwn(x *esReq, id string, u domain.UpdateKey) (bool, error) {
	k, ok := s.keys.Get(x.org.ID, domain.KeyID(id))
	if !ok || !x.inProject(&k) || !esOwns(x.p, &k) {
		return false, domain.NotFound("no API key owned by requesting user found for ID [%s]", id)
	}
	ctx, cancel := httpx.CmdCtx(x.r)
	defer cancel()
	return s.commands.UpdateKey(ctx, x.p, x.meta(), x.org.ID, k.ID, u)
}

func (x *esReq) refuseKeyCaller() error {
	if x.p.Kind == domain.ActorKey {
		return domain.Invalid("authentication via API key not supported: only the owner user can update an API key")
	}
	return nil
}

func (s *Server) esUpdateKey(x *esReq) error {
	var b esUpdateBody
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &b, true); err != nil {
		return err
	}
	if b.IDs != nil {
		return domain.Invalid("failed to parse request body: unknown field \"ids\"")
	}
	if err := x.refuseKeyCaller(); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionUpdateKey, true); err != nil {
		return err
	}
	updated, err := s.updateOwn(x, x.r.PathValue("id"), b.command())
	if err != nil {
		return err
	}
	return x.write(http.StatusOK, map[string]any{"updated": updated})
}

func (s *Server) esBulkUpdateKeys(x *esReq) error {
	var b esUpdateBody
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := httpx.DecodeBody(x.r, &b, false); err != nil {
		return err
	}
	if len(b.IDs) == 0 {
		return domain.Invalid("Validation Failed: 1: Field [ids] cannot be empty;")
	}
	if len(b.IDs) > httpx.MaxBulk {
		return domain.Invalid("Validation Failed: 1: at most [%d] ids per request;", httpx.MaxBulk)
	}
	if slices.Contains(b.IDs, "") { // null decodes as ""
		return domain.Invalid("Validation Failed: 1: Field [ids] cannot contain null or empty ids;")
	}
	if err := x.refuseKeyCaller(); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionBulkUpdateKeys, true); err != nil {
		return err
	}
	updated, noops := []string{}, []string{}
	details := map[string]any{}
	for _, id := range b.IDs {
		did, err := s.updateOwn(x, id, b.command())
		switch {
		case err != nil:
			_, typ := httpx.StatusOf(domain.KindOf(err))
			details[id] = map[string]any{"type": typ, "reason": domain.ReasonOf(err)}
		case did:
			updated = append(updated, id)
		default:
			noops = append(noops, id)
		}
	}
	out := map[string]any{"updated": updated, "noops": noops}
	if len(details) > 0 {
		out["errors"] = map[string]any{"count": len(details), "details": details}
	}
	return x.write(http.StatusOK, out)
}

// esClearKeyCache has nothing to clear: keyplane keeps no credential cache
// that could outlive a revocation. It answers as one node would.
func (s *Server) esClearKeyCache(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionClearKeyCache, false); err != nil {
		return err
	}
	for _, id := range strings.Split(x.r.PathValue("ids"), ",") {
		if id == "" {
			return domain.Invalid("Validation Failed: 1: ids must not be empty;")
		}
	}
	return x.write(http.StatusOK, esNodes(x))
}

// esNodes is the "_nodes" header of node-level answers: keyplane is one
// node per project.
func esNodes(x *esReq) map[string]any {
	return map[string]any{
		"_nodes":       map[string]any{"total": 1, "successful": 1, "failed": 0},
		"cluster_name": x.pr.Name,
		"nodes":        map[string]any{string(x.pr.ID): map[string]any{"name": "keyplane"}},
	}
}
