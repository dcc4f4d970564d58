package notifier

import (
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// content is what a notice says: names and ids, never the secret.
type content struct {
	KeyName, KeyID     string
	OrgName, OrgID     string
	ProjectName        string // empty for an organization key
	ProjectID          string
	Expires            string // UTC, to the minute
	ExpiresRFC3339     string
	Remaining          string // "in 7 days", "expired"
	Expired            bool
	Window             string
	KeysPath, KeyPath  string // where to create a replacement, and this key
	NewExpirationValue string
	// ConsolePath is the key's page in the web console, where its Rotate
	// button is.
	ConsolePath string
	// SelfRotates says the key can rotate itself: it authenticates (a
	// cross-cluster key does not).
	SelfRotates bool
	// Usage says when the key was last used ("last used 3 days ago",
	// "never used"), LastUsed when exactly (empty if never): a key no one
	// uses may rather be revoked than rotated.
	Usage, LastUsed string
	NeverUsed       bool
}

// describe gathers the content of a notice about key k as of now.
func (n *Notifier) describe(st projections.NoticeState, k domain.Key) content {
	now := n.cfg.Now()
	c := content{KeyName: k.Name, KeyID: string(k.ID), OrgID: string(k.Tenant), OrgName: string(k.Tenant),
		Expires: k.Expires.UTC().Format("2006-01-02 15:04 UTC"), ExpiresRFC3339: k.Expires.UTC().Format(time.RFC3339),
		Remaining: domain.Remaining(k.Expires, now), Expired: !now.Before(k.Expires), Window: st.Notice.Window.String(),
		NewExpirationValue: "90d", SelfRotates: k.Type != domain.KeyCrossCluster,
		Usage: domain.LastUsedPhrase(k.LastUsed, now), NeverUsed: k.LastUsed.IsZero()}
	if !c.NeverUsed {
		c.LastUsed = k.LastUsed.UTC().Format("2006-01-02 15:04 UTC")
	}
	c.KeysPath = "/api/v1/orgs/" + string(k.Tenant)
	if o, ok := n.Dir.Org(string(k.Tenant)); ok {
		c.OrgName = o.Name
		if p, ok := o.Projects[k.Project]; ok {
			c.ProjectName = p.Name
		}
	}
	if k.Scope == domain.ScopeProject {
		c.ProjectID = string(k.Project)
		if c.ProjectName == "" {
			c.ProjectName = string(k.Project)
		}
		c.KeysPath += "/projects/" + string(k.Project)
	}
	c.KeysPath += "/api-keys"
	c.KeyPath = c.KeysPath + "/" + string(k.ID)
	c.ConsolePath = "/console/#/o/" + url.PathEscape(c.OrgName) + "/keys/" + url.PathEscape(string(k.ID))
	if c.ProjectID != "" {
		c.ConsolePath += "?project=" + url.QueryEscape(c.ProjectName)
	}
	return c
}

func (c content) subject() string {
	if c.Expired {
		return `keyplane: API key "` + c.KeyName + `" expired on ` + c.Expires
	}
	return `keyplane: API key "` + c.KeyName + `" expires ` + c.Remaining + ` (` + c.Expires + `)`
}

func (c content) bodies() (string, string, error) {
	var text, html strings.Builder
	if err := textBody.Execute(&text, c); err != nil {
		return "", "", err
	}
	if err := htmlBody.Execute(&html, c); err != nil {
		return "", "", err
	}
	return text.String(), html.String(), nil
}

var textBody = texttemplate.Must(texttemplate.New("text").Parse(`Hello,

{{if .Expired}}The API key "{{.KeyName}}" expired on {{.Expires}}. Requests that use it are refused.{{else}}The API key "{{.KeyName}}" expires {{.Remaining}}, on {{.Expires}}. After that, requests that use it are refused.{{end}}
It was {{.Usage}}{{if .LastUsed}} ({{.LastUsed}}){{end}}.{{if .NeverUsed}} If nothing needs it, let it expire, or revoke it.{{end}}

  Key:          {{.KeyName}} (id {{.KeyID}})
  Organization: {{.OrgName}} (id {{.OrgID}})
{{- if .ProjectID}}
  Project:      {{.ProjectName}} (id {{.ProjectID}}){{end}}
  Expires:      {{.Expires}} ({{.ExpiresRFC3339}})
  Last used:    {{if .LastUsed}}{{.LastUsed}}{{else}}never{{end}}

To rotate it, make a new key like this one (same name, privileges and
metadata) while this one keeps working for a grace period:
  POST {{.KeyPath}}/_rotate
  with {"grace": "24h"} (0s ends this key at once),{{if .SelfRotates}} or the key itself can,
  with an Idempotency-Key header:
  POST /api/v1/api-keys/_self/_rotate{{end}}
  or press "Rotate" on the key's page in the console: {{.ConsolePath}}
Then move every client to the new key before the grace ends.
{{- if not .Expired}}

To keep this key instead, extend it: PUT {{.KeyPath}}
with {"expiration": "{{.NewExpirationValue}}"}.{{end}}

You get this email as the key's creator or as an operational contact of
the organization. This is notice "{{.Window}}" before expiry.

-- keyplane
`))

var htmlBody = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<p>Hello,</p>
{{if .Expired}}<p>The API key <strong>{{.KeyName}}</strong> expired on {{.Expires}}. Requests that use it are refused.</p>
{{else}}<p>The API key <strong>{{.KeyName}}</strong> expires <strong>{{.Remaining}}</strong>, on {{.Expires}}. After that, requests that use it are refused.</p>
{{end}}<p>It was <strong>{{.Usage}}</strong>{{if .LastUsed}} ({{.LastUsed}}){{end}}.{{if .NeverUsed}} If nothing needs it, let it expire, or revoke it.{{end}}</p>
<table>
<tr><th align="left">Key</th><td>{{.KeyName}} (id <code>{{.KeyID}}</code>)</td></tr>
<tr><th align="left">Organization</th><td>{{.OrgName}} (id <code>{{.OrgID}}</code>)</td></tr>
{{if .ProjectID}}<tr><th align="left">Project</th><td>{{.ProjectName}} (id <code>{{.ProjectID}}</code>)</td></tr>
{{end}}<tr><th align="left">Expires</th><td>{{.Expires}} (<time datetime="{{.ExpiresRFC3339}}">{{.ExpiresRFC3339}}</time>)</td></tr>
<tr><th align="left">Last used</th><td>{{if .LastUsed}}{{.LastUsed}}{{else}}never{{end}}</td></tr>
</table>
<p>To rotate it, make a new key like this one (same name, privileges and metadata) while this one keeps working for a grace period:</p>
<ul>
<li><code>POST {{.KeyPath}}/_rotate</code> with <code>{"grace": "24h"}</code> (<code>0s</code> ends this key at once){{if .SelfRotates}}, or, by the key itself with an <code>Idempotency-Key</code> header, <code>POST /api/v1/api-keys/_self/_rotate</code>{{end}};</li>
<li>or press <strong>Rotate</strong> on the key's page in the console: <code>{{.ConsolePath}}</code>.</li>
</ul>
<p>Then move every client to the new key before the grace ends.</p>
{{if not .Expired}}<p>To keep this key instead, extend it: <code>PUT {{.KeyPath}}</code> with <code>{"expiration": "{{.NewExpirationValue}}"}</code>.</p>
{{end}}<p style="color: #666">You get this email as the key's creator or as an operational contact of the organization. This is notice "{{.Window}}" before expiry.</p>
</body></html>
`))
