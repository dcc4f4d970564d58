package main

// `keyplane keys ...`: the organization's and projects' API keys over the
// console REST API (/api/v1/orgs/{org}[/projects/{project}]/api-keys).

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

const keysUsage = `usage: keyplane keys COMMAND [flags]

Manage API keys over the console REST API of a running keyplane.

commands:
  create --name N [--project P] [--expiration 90d] [--role-descriptors JSON|@file] [--metadata JSON|@file] [--type T]
                     create a key; its secret is printed this once
  list [--status S] [--name N] [--owner U] [--scope S] [--type T] [--sort F] ...
                     list keys (no secrets)
  show ID            show one key
  update ID [--expiration E] [--role-descriptors JSON|@file] [--metadata JSON|@file]
                     change a key's expiration, role descriptors or metadata
  rotate ID [--grace 24h] [--expiration E]
                     create the key's successor (its secret printed once); the old key works for the grace
  revoke ID...       revoke keys

Every command takes --url (default $KEYPLANE_URL or ` + defaultURL + `), --org (default
"default") and --output table|json (create and rotate also csv). Credentials
come from KEYPLANE_API_KEY (an encoded key), or KEYPLANE_USER and
KEYPLANE_PASSWORD. Exit status: 0 done, 1 refused by the server (the reason on
stderr), 2 a usage error. "keyplane keys COMMAND -h" shows a command's flags.
`

var keyVerbs = map[string]subcommand{
	"create": keysCreate, "list": keysList, "show": keysShow,
	"update": keysUpdate, "rotate": keysRotate, "revoke": keysRevoke,
}

func keys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "keys", keysUsage, keyVerbs, args, stdout, stderr)
}

// keysPath is the key collection of --org, or of --project in it.
func keysPath(org, project string) string {
	p := "/api/v1/orgs/" + pathEsc(org)
	if project != "" {
		p += "/projects/" + pathEsc(project)
	}
	return p + "/api-keys"
}

// keyRow is what the tables show of a key.
type keyRow struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Status        string `json:"status"`
	Scope         string `json:"scope"`
	Project       string `json:"project"`
	Type          string `json:"type"`
	Username      string `json:"username"`
	Creation      int64  `json:"creation"`
	Expiration    *int64 `json:"expiration"`
	RotatedTo     string `json:"rotated_to"`
	ExceedsPolicy bool   `json:"exceeds_policy"`
	LastUsed      string `json:"last_used"` // RFC 3339; empty: never used
}

var keyHeader = []string{"ID", "NAME", "STATUS", "SCOPE", "PROJECT", "TYPE", "OWNER", "CREATED", "EXPIRES", "LAST_USED", "ROTATED_TO", "EXCEEDS_POLICY"}

func (k keyRow) cells() []string {
	used := k.LastUsed
	if used == "" {
		used = "never"
	}
	return []string{k.ID, k.Name, k.Status, k.Scope, k.Project, k.Type, k.Username, millis(&k.Creation), millis(k.Expiration),
		used, k.RotatedTo, strconv.FormatBool(k.ExceedsPolicy)}
}

// createdKey is the answer to a create or a rotation: the only one with
// the secret.
type createdKey struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Expiration  *int64 `json:"expiration"`
	APIKey      string `json:"api_key"`
	Encoded     string `json:"encoded"`
	RotatedFrom string `json:"rotated_from"`
}

// printCreated writes a created key in c's output format; raw is the JSON
// answer (csv was asked of the server and is written as it came).
func printCreated(c *cliCommand, raw []byte) error {
	if c.output != "table" {
		if c.output == "csv" {
			_, err := c.stdout.Write(raw)
			return err
		}
		return printJSON(c.stdout, raw)
	}
	var k createdKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	return table(c.stdout, []string{"ID", "NAME", "EXPIRES", "ROTATED_FROM", "API_KEY", "ENCODED"},
		[][]string{{k.ID, k.Name, millis(k.Expiration), k.RotatedFrom, k.APIKey, k.Encoded}})
}

// accept is the Accept header for an output format.
func accept(output string) string {
	if output == "csv" {
		return "text/csv"
	}
	return ""
}

func keysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys create", "usage: keyplane keys create --name N [flags]\n\nCreates an API key and prints its secret, this once.", stdout, stderr, "table", "json", "csv")
	name := c.fs.String("name", "", "the key's name (required)")
	project := c.fs.String("project", "", "create a key of this project (id or name) rather than of the organization")
	exp := c.fs.String("expiration", "", "how long it lives: 12h, 90d, 3M, an RFC 3339 time or never (default: the organization's policy)")
	typ := c.fs.String("type", "", "personal or managed")
	rd := c.fs.String("role-descriptors", "", "role descriptors, JSON or @file")
	md := c.fs.String("metadata", "", "metadata, a JSON object or @file")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		if *name == "" {
			return usagef("--name is required")
		}
		body := map[string]any{"name": *name}
		if err := optionalBody(body, *exp, *typ, *rd, *md); err != nil {
			return err
		}
		raw, err := c.client().call(ctx, "POST", keysPath(c.org, *project), nil, body, accept(c.output))
		if err != nil {
			return err
		}
		return printCreated(c, raw)
	}())
}

// optionalBody adds the flags given to a create or update body.
func optionalBody(body map[string]any, exp, typ, rd, md string) error {
	if exp != "" {
		body["expiration"] = exp
	}
	if typ != "" {
		body["type"] = typ
	}
	for _, f := range []struct{ flag, field, v string }{{"role-descriptors", "role_descriptors", rd}, {"metadata", "metadata", md}} {
		if f.v == "" {
			continue
		}
		j, err := jsonArg(f.flag, f.v)
		if err != nil {
			return err
		}
		body[f.field] = j
	}
	return nil
}

// listFilters are the list API's query parameters, as flags of the same
// names (underscores as dashes); they go to the server as given, which
// judges them.
var listFilters = []struct{ flag, param, help string }{
	{"status", "status", "active, expired or invalidated"},
	{"name", "name", "name, with * wildcards"},
	{"owner", "owner", "the owning member"},
	{"scope", "scope", "org or project"},
	{"type", "type", "rest, cross_cluster, personal or managed"},
	{"exceeds-policy", "exceeds_policy", "true or false: keys outside the organization's key policy"},
	{"used-before", "used_before", "keys last used before this time"},
	{"sort", "sort", "name, created, expiration, status, owner or last_used; -name for descending"},
	{"size", "size", "at most this many keys"},
	{"from", "from", "skip this many"},
	{"cursor", "cursor", "the next page after a previous answer's cursor"},
	{"as-of", "as_of", "owners: the list as it was at a log sequence or an RFC 3339 time"},
}

func keysList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys list", "usage: keyplane keys list [flags]\n\nLists API keys (never their secrets).", stdout, stderr, "table", "json")
	project := c.fs.String("project", "", "only the keys of this project (id or name)")
	vals := make([]*string, len(listFilters))
	for i, f := range listFilters {
		vals[i] = c.fs.String(f.flag, "", f.help)
	}
	neverUsed := c.fs.Bool("never-used", false, "only keys never used to authenticate (servers that record use)")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		q := url.Values{}
		c.fs.Visit(func(fl *flag.Flag) {
			for i, f := range listFilters {
				if f.flag == fl.Name {
					q.Set(f.param, *vals[i])
				}
			}
		})
		if *neverUsed {
			q.Set("never_used", "true")
		}
		raw, err := c.client().call(ctx, "GET", keysPath(c.org, *project), q, nil, "")
		if err != nil {
			return err
		}
		if c.output == "json" {
			return printJSON(c.stdout, raw)
		}
		var out struct {
			Keys []keyRow `json:"api_keys"`
			Next string   `json:"next_cursor"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		rows := make([][]string, len(out.Keys))
		for i, k := range out.Keys {
			rows[i] = k.cells()
		}
		if err := table(c.stdout, keyHeader, rows); err != nil {
			return err
		}
		if out.Next != "" {
			// On stderr: stdout stays the table, for whatever reads it.
			fmt.Fprintf(c.stderr, "more keys: add --cursor %s\n", out.Next)
		}
		return nil
	}())
}

// keyProjectFlag is the --project of a command on one key.
func keyProjectFlag(c *cliCommand) *string {
	return c.fs.String("project", "", "the key's project (id or name); not needed, it narrows the search")
}

// keyArg parses the command's one argument, a key's ID, and returns that
// key's path.
func (c *cliCommand) keyArg(args []string, project string) (string, error) {
	pos, err := c.parse(args, 1, 1)
	if err != nil {
		return "", err
	}
	return keysPath(c.org, project) + "/" + pathEsc(pos[0]), nil
}

func keysShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys show", "usage: keyplane keys show ID [flags]\n\nShows one API key (never its secret).", stdout, stderr, "table", "json")
	project := keyProjectFlag(c)
	return c.exit(func() error {
		key, err := c.keyArg(args, *project)
		if err != nil {
			return err
		}
		raw, err := c.client().call(ctx, "GET", key, nil, nil, "")
		if err != nil {
			return err
		}
		return printKey(c, raw, "")
	}())
}

// printKey prints the key of an answer, at field (or the answer itself).
func printKey(c *cliCommand, raw []byte, field string) error {
	if c.output == "json" {
		return printJSON(c.stdout, raw)
	}
	var k keyRow
	if field == "" {
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
	} else {
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(raw, &wrap); err != nil {
			return err
		}
		if err := json.Unmarshal(wrap[field], &k); err != nil {
			return err
		}
	}
	return table(c.stdout, keyHeader, [][]string{k.cells()})
}

func keysUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys update", "usage: keyplane keys update ID [flags]\n\nChanges a key's expiration, role descriptors or metadata (at least one).", stdout, stderr, "table", "json")
	project := keyProjectFlag(c)
	exp := c.fs.String("expiration", "", "a new expiration: 12h, 90d, an RFC 3339 time or never")
	rd := c.fs.String("role-descriptors", "", "new role descriptors, JSON or @file ({} for none)")
	md := c.fs.String("metadata", "", "new metadata, a JSON object or @file")
	return c.exit(func() error {
		key, err := c.keyArg(args, *project)
		if err != nil {
			return err
		}
		body := map[string]any{}
		if err := optionalBody(body, *exp, "", *rd, *md); err != nil {
			return err
		}
		if len(body) == 0 {
			return usagef("nothing to update: give --expiration, --role-descriptors or --metadata")
		}
		raw, err := c.client().call(ctx, "PUT", key, nil, body, "")
		if err != nil {
			return err
		}
		return printKey(c, raw, "api_key")
	}())
}

func keysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys rotate", "usage: keyplane keys rotate ID [flags]\n\nCreates the key's successor and prints its secret, this once; the old key\nkeeps working for the grace, then expires.", stdout, stderr, "table", "json", "csv")
	project := keyProjectFlag(c)
	grace := c.fs.String("grace", "", "how long the old key keeps working (default 24h; 0s ends it at once)")
	exp := c.fs.String("expiration", "", "the successor's expiration (default: as a create's)")
	return c.exit(func() error {
		key, err := c.keyArg(args, *project)
		if err != nil {
			return err
		}
		body := map[string]any{}
		if *grace != "" {
			body["grace"] = *grace
		}
		if *exp != "" {
			body["expiration"] = *exp
		}
		raw, err := c.client().call(ctx, "POST", key+"/_rotate", nil, body, accept(c.output))
		if err != nil {
			return err
		}
		return printCreated(c, raw)
	}())
}

// revoked is the answer to a revoke, of one key or many.
type revoked struct {
	Fresh   []string `json:"invalidated_api_keys"`
	Prev    []string `json:"previously_invalidated_api_keys"`
	Details []struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		Status int    `json:"status"`
	} `json:"error_details"`
}

func keysRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("keys revoke", "usage: keyplane keys revoke ID... [flags]\n\nRevokes keys: they are refused at once.", stdout, stderr, "table", "json")
	project := c.fs.String("project", "", "the keys' project (id or name); not needed, it narrows the search")
	return c.exit(func() error {
		ids, err := c.parse(args, 1, -1)
		if err != nil {
			return err
		}
		base := keysPath(c.org, *project)
		var raw []byte
		if len(ids) == 1 {
			raw, err = c.client().call(ctx, "DELETE", base+"/"+pathEsc(ids[0]), nil, nil, "")
		} else {
			raw, err = c.client().call(ctx, "POST", base+"/_bulk_delete", nil, map[string]any{"ids": ids}, "")
		}
		if err != nil {
			return err
		}
		var out revoked
		if err := json.Unmarshal(raw, &out); err != nil {
			return err
		}
		if len(out.Details) > 0 {
			return revokeFailed(out)
		}
		if c.output == "json" {
			return printJSON(c.stdout, raw)
		}
		var rows [][]string
		for _, id := range out.Fresh {
			rows = append(rows, []string{id, "revoked"})
		}
		for _, id := range out.Prev {
			rows = append(rows, []string{id, "already revoked"})
		}
		return table(c.stdout, []string{"ID", "RESULT"}, rows)
	}())
}

// revokeFailed is the error of a bulk revoke some of whose keys were
// refused: the refusals, and which were revoked all the same.
func revokeFailed(out revoked) error {
	e := &apiError{status: out.Details[0].Status}
	for i, d := range out.Details {
		if i > 0 {
			e.reason += "; "
		}
		e.reason += d.Reason
	}
	if len(out.Fresh) > 0 {
		e.reason += " (revoked: " + strings.Join(out.Fresh, ", ") + ")"
	}
	return e
}
