package main

// `keyplane orgs|projects|members list|create`: the organizations, their
// projects and their members over the console REST API.

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

const orgsUsage = `usage: keyplane orgs list|create [flags]

  list                 the organizations the credential belongs to
  create --name N      create an organization (you own it)

Flags as "keyplane help keys" says: --url, --output table|json; credentials
from KEYPLANE_API_KEY, or KEYPLANE_USER and KEYPLANE_PASSWORD.
`

const projectsUsage = `usage: keyplane projects list|create [--org O] [flags]

  list                 the organization's projects
  create --name N      create a project

Flags as "keyplane help keys" says: --url, --org (default "default"),
--output table|json.
`

const membersUsage = `usage: keyplane members list|create [--org O] [flags]

  list                        the organization's members
  create --email E --role R   invite someone (role owner, admin or viewer): the
                              invitation's token is printed this once; the
                              invitee accepts it with POST /api/v1/invitations/_accept

Flags as "keyplane help keys" says: --url, --org (default "default"),
--output table|json.
`

func orgs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "orgs", orgsUsage, map[string]subcommand{"list": orgsList, "create": orgsCreate}, args, stdout, stderr)
}

func projects(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "projects", projectsUsage, map[string]subcommand{"list": projectsList, "create": projectsCreate}, args, stdout, stderr)
}

func members(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "members", membersUsage, map[string]subcommand{"list": membersList, "create": membersCreate}, args, stdout, stderr)
}

// named is an organization or a project as listed.
type named struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// fetch runs one request for c and prints its answer: as JSON, or as the
// table rows does of it.
func (c *cliCommand) fetch(ctx context.Context, method, path string, body any, header []string, rows func(raw []byte) ([][]string, error)) error {
	raw, err := c.client().call(ctx, method, path, nil, body, "")
	if err != nil {
		return err
	}
	if c.output == "json" {
		return printJSON(c.stdout, raw)
	}
	r, err := rows(raw)
	if err != nil {
		return err
	}
	return table(c.stdout, header, r)
}

func orgsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("orgs list", "usage: keyplane orgs list [flags]", stdout, stderr, "table", "json")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		return c.fetch(ctx, "GET", "/api/v1/orgs", nil, []string{"ID", "NAME", "ROLE", "CREATED"}, func(raw []byte) ([][]string, error) {
			var out struct{ Orgs []named }
			err := json.Unmarshal(raw, &out)
			return namedRows(out.Orgs, true), err
		})
	}())
}

func namedRows(list []named, role bool) [][]string {
	rows := make([][]string, len(list))
	for i, o := range list {
		rows[i] = []string{o.ID, o.Name}
		if role {
			rows[i] = append(rows[i], o.Role)
		}
		rows[i] = append(rows[i], stamp(o.Created))
	}
	return rows
}

// createNamed runs the create of an organization or project: --name is
// required, and the answer prints as one row (with the caller's role when
// role).
func createNamed(ctx context.Context, c *cliCommand, args []string, name *string, path func() string, role bool) int {
	header := []string{"ID", "NAME", "CREATED"}
	if role {
		header = []string{"ID", "NAME", "ROLE", "CREATED"}
	}
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		if *name == "" {
			return usagef("--name is required")
		}
		return c.fetch(ctx, "POST", path(), map[string]any{"name": *name}, header, func(raw []byte) ([][]string, error) {
			var o named
			err := json.Unmarshal(raw, &o)
			return namedRows([]named{o}, role), err
		})
	}())
}

func orgsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("orgs create", "usage: keyplane orgs create --name N [flags]", stdout, stderr, "table", "json")
	name := c.fs.String("name", "", "the organization's name (required)")
	return createNamed(ctx, c, args, name, func() string { return "/api/v1/orgs" }, true)
}

func projectsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("projects list", "usage: keyplane projects list [--org O] [flags]", stdout, stderr, "table", "json")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		return c.fetch(ctx, "GET", "/api/v1/orgs/"+pathEsc(c.org)+"/projects", nil, []string{"ID", "NAME", "CREATED"}, func(raw []byte) ([][]string, error) {
			var out struct{ Projects []named }
			err := json.Unmarshal(raw, &out)
			return namedRows(out.Projects, false), err
		})
	}())
}

func projectsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("projects create", "usage: keyplane projects create --name N [--org O] [flags]", stdout, stderr, "table", "json")
	name := c.fs.String("name", "", "the project's name (required)")
	// The path is read after parsing: --org sets c.org.
	return createNamed(ctx, c, args, name, func() string { return "/api/v1/orgs/" + pathEsc(c.org) + "/projects" }, false)
}

func membersList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("members list", "usage: keyplane members list [--org O] [flags]", stdout, stderr, "table", "json")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		return c.fetch(ctx, "GET", "/api/v1/orgs/"+pathEsc(c.org)+"/members", nil, []string{"NAME", "EMAIL", "ROLE"}, func(raw []byte) ([][]string, error) {
			var out struct {
				Members []struct{ Name, Email, Role string }
			}
			err := json.Unmarshal(raw, &out)
			rows := make([][]string, len(out.Members))
			for i, m := range out.Members {
				rows[i] = []string{m.Name, m.Email, m.Role}
			}
			return rows, err
		})
	}())
}

func membersCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("members create", "usage: keyplane members create --email E --role R [--org O] [flags]\n\nInvites someone to the organization; the invitation's token is printed this\nonce, for the invitee to accept (POST /api/v1/invitations/_accept).", stdout, stderr, "table", "json")
	email := c.fs.String("email", "", "where the invitation goes (required)")
	role := c.fs.String("role", "", "owner, admin or viewer (required)")
	return c.exit(func() error {
		if _, err := c.parse(args, 0, 0); err != nil {
			return err
		}
		if *email == "" || *role == "" {
			return usagef("--email and --role are required")
		}
		body := map[string]any{"email": *email, "role": *role}
		return c.fetch(ctx, "POST", "/api/v1/orgs/"+pathEsc(c.org)+"/invitations", body, []string{"ID", "EMAIL", "ROLE", "EXPIRES", "TOKEN"}, func(raw []byte) ([][]string, error) {
			var inv struct {
				ID, Email, Role, Token string
				Expires                time.Time
			}
			err := json.Unmarshal(raw, &inv)
			return [][]string{{inv.ID, inv.Email, inv.Role, stamp(inv.Expires), inv.Token}}, err
		})
	}())
}
