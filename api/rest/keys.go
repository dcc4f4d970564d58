package rest

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// keyScope is where a key route points: an organization, and maybe one
// project of it.
type keyScope struct {
	org     *domain.Org
	project domain.ProjectID
}

func (s *keysAPI) keyScope(r *http.Request, p domain.Principal) (keyScope, error) {
	o, err := s.org(r, p)
	if err != nil {
		return keyScope{}, err
	}
	ref := r.PathValue("project")
	if ref == "" {
		return keyScope{org: o}, nil
	}
	pr, ok := o.ProjectNamed(ref)
	if !ok || !p.InProject(o.ID, pr.ID) {
		return keyScope{}, domain.NotFound("project [%s] not found", ref)
	}
	return keyScope{org: o, project: pr.ID}, nil
}

// keyView is a key as listed and shown: Elasticsearch's field names plus
// keyplane's scope, type and status. Never the secret or its hash.
type keyView struct {
	ID           domain.KeyID     `json:"id"`
	Name         string           `json:"name"`
	Scope        domain.Scope     `json:"scope"`
	Project      domain.ProjectID `json:"project,omitempty"`
	Type         domain.KeyType   `json:"type"`
	Status       domain.KeyStatus `json:"status"`
	Creation     int64            `json:"creation"`
	Expiration   *int64           `json:"expiration,omitempty"`
	Invalidated  bool             `json:"invalidated"`
	Invalidation *int64           `json:"invalidation,omitempty"`
	Username     string           `json:"username"`
	Realm        string           `json:"realm"`
	// RotatedTo and RotatedFrom are the key's lineage (rotate.go).
	RotatedTo       domain.KeyID           `json:"rotated_to,omitempty"`
	RotatedFrom     domain.KeyID           `json:"rotated_from,omitempty"`
	CreatedBy       domain.Actor           `json:"created_by"`
	RoleDescriptors domain.RoleDescriptors `json:"role_descriptors"`
	// Access is a cross-cluster key's, from which its descriptor derives.
	Access   *domain.CrossClusterAccess `json:"access,omitempty"`
	Metadata map[string]any             `json:"metadata"`
	// ExceedsPolicy: the key is active and outside its organization's key
	// policy (made before a stricter one); it keeps working.
	ExceedsPolicy bool `json:"exceeds_policy"`
	// LastUsed is the key's last recorded use (to the hour or better);
	// absent for a key never used.
	LastUsed *time.Time `json:"last_used,omitempty"`
}

// viewKey shows k at now, under its organization's key policy.
func (s *keysAPI) viewKey(k *domain.Key, pol domain.KeyPolicy) keyView {
	return viewKeyAt(k, pol, s.now())
}

// viewKeyAt shows k as it was at now under the policy of then (as_of).
func viewKeyAt(k *domain.Key, pol domain.KeyPolicy, now time.Time) keyView {
	v := keyView{ID: k.ID, Name: k.Name, Scope: k.Scope, Project: k.Project, Type: k.Type, Status: k.Status(now),
		Creation: k.Created.UnixMilli(), Invalidated: k.Invalidated, Username: k.Owner.User, Realm: k.Owner.Realm,
		CreatedBy: k.CreatedBy, ExceedsPolicy: pol.Exceeds(k, now)}
	v.Expiration, v.Invalidation, v.Metadata, v.RoleDescriptors = httpx.ShownKeyFields(k)
	v.RotatedTo, v.RotatedFrom = k.RotatedTo, k.RotatedFrom
	if k.Type == domain.KeyCrossCluster {
		a := domain.CrossClusterAccessOf(k.RoleDescriptors)
		v.Access = &a
	}
	v.LastUsed = lastUsed(k)
	return v
}

// lastUsed is k's last use for a view, nil for a key never used.
func lastUsed(k *domain.Key) *time.Time {
	if k.LastUsed.IsZero() {
		return nil
	}
	t := k.LastUsed.UTC()
	return &t
}

type createKeyRequest struct {
	Name            string          `json:"name"`
	Expiration      string          `json:"expiration"`
	RoleDescriptors json.RawMessage `json:"role_descriptors"`
	Metadata        map[string]any  `json:"metadata"`
	Type            domain.KeyType  `json:"type"`
	// Access makes, with type cross_cluster, a cross-cluster key.
	Access json.RawMessage `json:"access"`
}

// command is the request as the domain's command, for an organization key
// or, with a project, a project key.
func (req createKeyRequest) command(t domain.TenantID, project domain.ProjectID) domain.CreateKey {
	c := domain.CreateKey{Tenant: t, Scope: domain.ScopeOrg, Project: project, Type: req.Type, Name: req.Name,
		Expiration: req.Expiration, RoleDescriptors: req.RoleDescriptors, Access: req.Access, Metadata: req.Metadata}
	if project != "" {
		c.Scope = domain.ScopeProject
	}
	return c
}

func (s *keysAPI) createKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req createKeyRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	ks, err := s.keyScope(r, p)
	if err != nil {
		return err
	}
	c := req.command(ks.org.ID, ks.project)
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	out, err := s.commands.CreateKey(ctx, p, httpx.Meta(w, r, p), c, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return writeCreated(w, r, out)
}

// writeCreated answers a new key, created or made by a rotation: the only
// time its secret is shown, as JSON or, asked for, as CSV.
func writeCreated(w http.ResponseWriter, r *http.Request, out commands.Created) error {
	w.Header().Set("Cache-Control", "no-store")
	if out.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return writeKeyCSV(w, out.ID, out.Name, out.Expires.UnixMilli(), !out.Expires.IsZero(), string(out.Secret), out.Encoded)
	}
	resp := map[string]any{"id": out.ID, "name": out.Name, "api_key": out.Secret, "encoded": out.Encoded}
	if !out.Expires.IsZero() {
		resp["expiration"] = out.Expires.UnixMilli()
	}
	if out.RotatedFrom != "" {
		resp["rotated_from"] = out.RotatedFrom
	}
	httpx.WriteJSON(w, http.StatusCreated, resp)
	return nil
}

// writeKeyCSV is the "download as CSV" of the create dialog.
func writeKeyCSV(w http.ResponseWriter, id domain.KeyID, name string, expMs int64, expires bool, secret, encoded string) error {
	w.Header().Set("Content-Type", "text/csv; charset=UTF-8")
	w.Header().Set("Content-Disposition", `attachment; filename="api-key-`+string(id)+`.csv"`)
	w.WriteHeader(http.StatusCreated)
	exp := ""
	if expires {
		exp = strconv.FormatInt(expMs, 10)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "name", "expiration", "api_key", "encoded"})
	_ = cw.Write([]string{string(id), csvCell(name), exp, secret, encoded})
	cw.Flush()
	return cw.Error()
}

// csvCell keeps a spreadsheet from reading a cell of the caller's text (a
// key's name) as a formula: one that starts with =, +, - or @ (or a tab or
// carriage return, which some spreadsheets skip before one) gets a leading
// single quote, OWASP's way. The id, secret and encoded credential are
// keyplane's, drawn from base64 alphabets that hold no formula syntax, and
// are written as they are so that the credential copied from the file
// still works.
func csvCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// readableKeys decides which keys of the scope p may list: all, or only
// its own (manage_own_api_key).
func (s *keysAPI) readableKeys(p domain.Principal, ks keyScope) (func(*domain.Key) bool, error) {
	t := domain.Target{Tenant: ks.org.ID, Project: ks.project}
	if p.Authorize(domain.ActionGetKey, t) == nil {
		return nil, nil
	}
	t.Own = true
	if err := p.Authorize(domain.ActionGetKey, t); err != nil {
		return nil, err
	}
	return func(k *domain.Key) bool { return k.OwnedBy(p) }, nil
}

func (s *keysAPI) listKeys(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	ks, err := s.keyScope(r, p)
	if err != nil {
		return err
	}
	only, err := s.readableKeys(p, ks)
	if err != nil {
		return err
	}
	f, pg, err := listParams(r)
	if err != nil {
		return err
	}
	f.Tenant, f.Project, f.Match, f.Now, f.Policy = ks.org.ID, ks.project, only, s.now(), ks.org.Policy
	if only != nil && f.Owner == "" && p.Kind != domain.ActorKey {
		// A member who may read only their own keys owns only keys of
		// their name (Principal.Owns): the owner index finds them.
		f.Owner = p.User
	}
	if r.URL.Query().Has("as_of") {
		return s.listKeysAsOf(w, r, p, ks, f, pg) // asof.go
	}
	if err := usedBefore(r.URL.Query(), &f); err != nil {
		return err
	}
	if !f.Indexed() && !projections.InOrder(f, pg.Sort) {
		s.log.Debug("key list scans every key of the organization: no index applies", "org", ks.org.ID)
	}
	keys, total := s.keys.List(f, pg)
	out := make([]keyView, len(keys))
	for i := range keys {
		out[i] = s.viewKey(&keys[i], ks.org.Policy)
	}
	httpx.WriteJSON(w, http.StatusOK, listAnswer(total, pg, keys, out, f.Now))
	return nil
}

// listAnswer is a page of the key list, with the cursor of the next page
// when the page is full: following it, a script walks any number of keys,
// and keys added or revoked meanwhile do not shift the pages as they
// shift a from.
func listAnswer(total int, pg projections.Page, keys []domain.Key, out []keyView, now time.Time) map[string]any {
	body := map[string]any{"total": total, "count": len(out), "from": pg.From, "api_keys": out}
	if len(keys) > 0 && len(keys) == pg.Size {
		body["next_cursor"] = encodeKeyCursor(pg.Sort, projections.PositionOf(&keys[len(keys)-1], pg.Sort, now))
	}
	return body
}

// usedBefore reads ?used_before= into f, a duration counting back from
// f.Now (the moment the list is of: now, or an as_of's).
func usedBefore(q url.Values, f *projections.Filter) error {
	v := q.Get("used_before")
	if v == "" {
		return nil
	}
	t, err := domain.ParseUsedBefore(v, f.Now)
	f.UsedBefore = t
	return err
}

// keyCursor is what a key list's cursor holds: the sort it was made for
// and the last key's place in it.
type keyCursor struct {
	Sort string `json:"sort"`
	projections.Position
}

// A cursor is opaque to clients.
func encodeKeyCursor(sort string, p projections.Position) string {
	b, _ := json.Marshal(keyCursor{Sort: sort, Position: p})
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxKeyCursor bounds a cursor, checked before it is decoded: the longest
// this API returns holds a sort value of at most a kilobyte (a name or an
// owner), JSON-escaped and base64-encoded.
const maxKeyCursor = 16384

func decodeKeyCursor(c, sort string) (*projections.Position, error) {
	if len(c) > maxKeyCursor {
		return nil, domain.Invalid("[cursor] is %d bytes, longer than any cursor this API returns (%d)", len(c), maxKeyCursor)
	}
	var kc keyCursor
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		err = json.Unmarshal(b, &kc)
	}
	if err != nil || kc.ID == "" {
		return nil, domain.Invalid("[cursor] is not a cursor this API returned")
	}
	if kc.Sort != sort {
		return nil, domain.Invalid("[cursor] was made for sort [%s], not [%s]: keep the sort while paging", kc.Sort, sort)
	}
	return &kc.Position, nil
}

// listParams reads ?name=&owner=&status=&scope=&type=&exceeds_policy=
// &used_before=&never_used=&sort=&size=&from=&cursor=.
func listParams(r *http.Request) (projections.Filter, projections.Page, error) {
	return listParamsOf(r.URL.Query())
}

// listParamsOf reads a list's parameters from q (a query, or a cleanup's
// filter: cleanup.go).
func listParamsOf(q url.Values) (projections.Filter, projections.Page, error) {
	f := projections.Filter{Name: q.Get("name"), Owner: q.Get("owner")}
	for _, v := range []struct{ param, value string }{{"name", f.Name}, {"owner", f.Owner}} {
		if len(v.value) > domain.MaxQueryValueBytes {
			return f, projections.Page{}, domain.Invalid("[%s] is %d bytes, over the limit of %d", v.param, len(v.value), domain.MaxQueryValueBytes)
		}
	}
	pg := projections.Page{Sort: q.Get("sort"), Size: 100}
	for k := range q {
		switch k {
		case "name", "owner", "status", "scope", "type", "exceeds_policy", "sort", "size", "from", "as_of",
			"used_before", "never_used", "cursor":
		default:
			return f, pg, domain.Invalid("request contains unrecognized parameter: [%s]", k)
		}
	}
	switch st := domain.KeyStatus(q.Get("status")); st {
	case "", domain.StatusActive, domain.StatusExpired, domain.StatusInvalidated:
		f.Status = st
	default:
		return f, pg, domain.Invalid("status must be active, expired or invalidated, not [%s]", st)
	}
	switch sc := q.Get("scope"); sc {
	case "", "all":
	case "org":
		f.OrgOnly = true
	case "project":
		f.ProjectOnly = true
	default:
		return f, pg, domain.Invalid("scope must be org or project, not [%s]", sc)
	}
	switch t := domain.KeyType(q.Get("type")); t {
	case "", domain.KeyPersonal, domain.KeyManaged, domain.KeyCrossCluster, domain.KeyRest:
		f.Type = t
	default:
		return f, pg, domain.Invalid("type must be rest, cross_cluster, personal or managed, not [%s]", t)
	}
	var err error
	if f.ExceedsPolicy, err = optionalBool(q, "exceeds_policy"); err != nil {
		return f, pg, err
	}
	if f.NeverUsed, err = optionalBool(q, "never_used"); err != nil {
		return f, pg, err
	}
	if pg.Sort == "" {
		pg.Sort = "-created"
	}
	if !projections.SortFields[strings.TrimPrefix(pg.Sort, "-")] {
		return f, pg, domain.Invalid("cannot sort by [%s]: use name, created, expiration, status, owner or last_used, with - for descending", pg.Sort)
	}
	if v := q.Get("used_before"); v != "" {
		// Checked now, before any work; read against the list's moment
		// later (usedBefore).
		if _, err := domain.ParseUsedBefore(v, time.Now()); err != nil {
			return f, pg, err
		}
	}
	if c := q.Get("cursor"); c != "" {
		if pg.After, err = decodeKeyCursor(c, pg.Sort); err != nil {
			return f, pg, err
		}
	}
	if pg.Size, err = intParam(q.Get("size"), 100, 0, 10000, "size"); err != nil {
		return f, pg, err
	}
	if pg.From, err = intParam(q.Get("from"), 0, 0, 1<<31-1, "from"); err != nil {
		return f, pg, err
	}
	return f, pg, nil
}

func intParam(s string, def, lo, hi int, name string) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, domain.Invalid("[%s] must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// keyInScope finds key {id} within the route's scope.
func (s *keysAPI) keyInScope(r *http.Request, p domain.Principal) (keyScope, domain.Key, error) {
	ks, err := s.keyScope(r, p)
	if err != nil {
		return ks, domain.Key{}, err
	}
	k, err := s.findKey(p, ks, domain.KeyID(r.PathValue("id")))
	return ks, k, err
}

// findKey returns key id if it is in scope ks and visible to p; anything
// else is not found, whoever owns it.
func (s *keysAPI) findKey(p domain.Principal, ks keyScope, id domain.KeyID) (domain.Key, error) {
	k, ok := s.keys.Get(ks.org.ID, id)
	if !ok || (ks.project != "" && k.Project != ks.project) || !p.InProject(ks.org.ID, k.Project) {
		return domain.Key{}, domain.NotFound("api key [%s] not found", id)
	}
	return k, nil
}

func (s *keysAPI) getKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	ks, k, err := s.keyInScope(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionGetKey, k.TargetFor(p)); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.viewKey(&k, ks.org.Policy))
	return nil
}

// updateKeyRequest is the body of an update: only these may change.
type updateKeyRequest struct {
	RoleDescriptors json.RawMessage `json:"role_descriptors"`
	Metadata        *map[string]any `json:"metadata"`
	Expiration      *string         `json:"expiration"`
	// Access replaces a cross-cluster key's access (and so its descriptor).
	Access json.RawMessage `json:"access"`
}

// command is the request as the domain's command.
func (req updateKeyRequest) command() domain.UpdateKey {
	return domain.UpdateKey{RoleDescriptors: req.RoleDescriptors, Metadata: req.Metadata, Expiration: req.Expiration, Access: req.Access}
}

func (s *keysAPI) updateKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req updateKeyRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	ks, k, err := s.keyInScope(r, p)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	updated, err := s.commands.UpdateKey(ctx, p, httpx.Meta(w, r, p), ks.org.ID, k.ID, req.command())
	if err != nil {
		return err
	}
	k, _ = s.keys.Get(ks.org.ID, k.ID)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"updated": updated, "api_key": s.viewKey(&k, ks.org.Policy)})
	return nil
}

func (s *keysAPI) deleteKey(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	ks, k, err := s.keyInScope(r, p)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	did, err := s.commands.InvalidateKey(ctx, p, httpx.Meta(w, r, p), ks.org.ID, k.ID, "")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, invalidation([]domain.KeyID{k.ID}, did))
	return nil
}

func invalidation(ids []domain.KeyID, fresh bool) map[string]any {
	out := map[string]any{"invalidated_api_keys": []domain.KeyID{}, "previously_invalidated_api_keys": []domain.KeyID{}, "error_count": 0}
	if fresh {
		out["invalidated_api_keys"] = ids
	} else {
		out["previously_invalidated_api_keys"] = ids
	}
	return out
}

// bulkDeleteRequest is the body of a bulk revoke: ids, or a filter
// (cleanup.go).
type bulkDeleteRequest struct {
	IDs           []domain.KeyID `json:"ids"`
	Filter        *cleanupFilter `json:"filter"`
	DryRun        bool           `json:"dry_run"`
	ExpectedCount *int           `json:"expected_count"`
}

func (s *keysAPI) bulkDeleteKeys(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	var req bulkDeleteRequest
	if err := httpx.DecodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Filter != nil || req.DryRun || req.ExpectedCount != nil {
		return s.revokeByFilter(w, r, p, req)
	}
	if len(req.IDs) == 0 {
		return domain.Invalid("field [ids] must list at least one key id")
	}
	if len(req.IDs) > httpx.MaxBulk {
		return domain.Invalid("at most %d ids per request", httpx.MaxBulk)
	}
	ks, err := s.keyScope(r, p)
	if err != nil {
		return err
	}
	// A caller who may revoke no key here, not even its own, is refused
	// as a whole, as a single revoke would be.
	if err := p.Authorize(domain.ActionInvalidateKey, domain.Target{Tenant: ks.org.ID, Project: ks.project, Own: true}); err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	fresh, prev := []domain.KeyID{}, []domain.KeyID{}
	type detail struct {
		ID     domain.KeyID `json:"id"`
		Type   string       `json:"type"`
		Reason string       `json:"reason"`
		Status int          `json:"status"`
	}
	details := []detail{}
	for _, id := range req.IDs {
		k, err := s.findKey(p, ks, id)
		did := false
		if err == nil {
			did, err = s.commands.InvalidateKey(ctx, p, httpx.Meta(w, r, p), ks.org.ID, k.ID, "")
		}
		switch {
		case err != nil:
			status, typ := httpx.StatusOf(domain.KindOf(err))
			details = append(details, detail{id, typ, domain.ReasonOf(err), status})
		case did:
			fresh = append(fresh, id)
		default:
			prev = append(prev, id)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"invalidated_api_keys": fresh, "previously_invalidated_api_keys": prev,
		"error_count": len(details), "error_details": details})
	return nil
}

// optionalBool reads query parameter name: nil when absent, else true or
// false; anything else is a 400.
func optionalBool(q url.Values, name string) (*bool, error) {
	switch v := q.Get(name); v {
	case "":
		return nil, nil
	case "true", "false":
		b := v == "true"
		return &b, nil
	default:
		return nil, domain.Invalid("%s must be true or false, not [%s]", name, v)
	}
}
