package rest

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// Trail is what the audit endpoints read: the audit index, the log its
// entries (and as-of key lists) are read back from, and the projections'
// runner (digests).
type Trail struct {
	Audit  *projections.Audit
	Log    *eventlog.Log
	Runner *projections.Runner

	operator operatorGate
}

// trailRoutes adds the audit trail's endpoints when the server has one.
func (s *keysAPI) trailRoutes(m Router) {
	if s.trail == nil {
		return
	}
	m.HandleFunc("GET /api/v1/orgs/{org}/audit", s.authed(s.listAudit))
	m.HandleFunc("GET /api/v1/_operator/digests", s.digests)
}

// MaxAuditPage bounds the entries of one audit page: each is read back from
// the log.
const MaxAuditPage = 1000

// listAudit answers an organization's audit trail, newest first unless
// ?order=asc, one page at a time. Owners and admins only.
func (s *keysAPI) listAudit(w http.ResponseWriter, r *http.Request, p domain.Principal) error {
	o, err := s.org(r, p)
	if err != nil {
		return err
	}
	if err := p.Authorize(domain.ActionAuditRead, domain.Target{Tenant: o.ID}); err != nil {
		return err
	}
	q, err := auditParams(r, o)
	if err != nil {
		return err
	}
	ctx, cancel := httpx.CmdCtx(r)
	defer cancel()
	entries, more, err := s.trail.Audit.Page(ctx, s.trail.Log, q)
	if err != nil {
		return err
	}
	for i := range entries {
		// A key's entries say when it was last used (now, not then: the
		// trail holds changes, not each hour's use).
		if id := entries[i].KeyID; id != "" {
			if k, ok := s.keys.Get(o.ID, id); ok {
				entries[i].LastUsed = lastUsed(&k)
			}
		}
	}
	out := map[string]any{"count": len(entries), "entries": entries}
	if more {
		out["next_cursor"] = encodeCursor(entries[len(entries)-1].Seq)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// auditParams reads ?actor=&key_id=&type=&project=&since=&until=&cursor=
// &size=&order=.
func auditParams(r *http.Request, o *domain.Org) (projections.AuditQuery, error) {
	v := r.URL.Query()
	q := projections.AuditQuery{Tenant: o.ID, Actor: v.Get("actor"), KeyID: domain.KeyID(v.Get("key_id")), Desc: true}
	for k := range v {
		switch k {
		case "actor", "key_id", "type", "project", "since", "until", "cursor", "size", "order":
		default:
			return q, domain.Invalid("request contains unrecognized parameter: [%s]", k)
		}
	}
	for _, t := range v["type"] {
		for _, one := range strings.Split(t, ",") {
			if one = strings.TrimSpace(one); one != "" {
				q.Types = append(q.Types, one)
			}
		}
	}
	if ref := v.Get("project"); ref != "" {
		pr, ok := o.ProjectNamed(ref)
		if !ok {
			return q, domain.NotFound("project [%s] not found", ref)
		}
		q.Project = pr.ID
	}
	var err error
	if q.Since, err = timeParam(v.Get("since"), "since"); err != nil {
		return q, err
	}
	if q.Until, err = timeParam(v.Get("until"), "until"); err != nil {
		return q, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, domain.Invalid("[since] must be before [until]")
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Desc = false
	default:
		return q, domain.Invalid("order must be asc or desc, not [%s]", v.Get("order"))
	}
	if q.After, err = decodeCursor(v.Get("cursor")); err != nil {
		return q, err
	}
	q.Size, err = intParam(v.Get("size"), 100, 1, MaxAuditPage, "size")
	return q, err
}

// timeParam reads an RFC 3339 time; empty is the zero time.
func timeParam(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, domain.Invalid("[%s] must be an RFC 3339 time such as 2026-03-10T14:02:00Z, not [%s]", name, s)
	}
	return t, nil
}

// A cursor is opaque to clients; inside it is the last sequence shown.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(seq, 10)))
}

func decodeCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if seq, perr := strconv.ParseUint(string(b), 10, 64); perr == nil && seq > 0 {
			return seq, nil
		}
	}
	return 0, domain.Invalid("[cursor] is not a cursor this API returned")
}
