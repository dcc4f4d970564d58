package main

// The terminal client's plumbing: `keyplane keys|orgs|projects|members`
// share their flags (--url, --org, --output), their parsing (flags may come
// after the arguments) and their exit codes: 0 done, 1 the server refused
// or could not be reached (the reason on stderr, nothing on stdout), 2 a
// usage error.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// defaultURL is where `keyplane serve` listens by default.
const defaultURL = "http://127.0.0.1:9200"

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// cliCommand is one run of a client subcommand: its flag set, the common
// flags' values, and where it writes.
type cliCommand struct {
	name     string // "keys create"
	synopsis string // its usage text
	outputs  []string
	fs       *flag.FlagSet
	url, org string
	output   string
	stdout   io.Writer
	stderr   io.Writer
}

// newCLICommand sets up the flags every client subcommand has; outputs
// are the --output formats it knows (the first is the default).
func newCLICommand(name, synopsis string, stdout, stderr io.Writer, outputs ...string) *cliCommand {
	c := &cliCommand{name: name, synopsis: synopsis, outputs: outputs, stdout: stdout, stderr: stderr}
	c.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	c.fs.SetOutput(io.Discard)
	url := os.Getenv("KEYPLANE_URL")
	if url == "" {
		url = defaultURL
	}
	c.fs.StringVar(&c.url, "url", url, "keyplane's base URL ($KEYPLANE_URL)")
	c.fs.StringVar(&c.org, "org", "default", "organization id or name")
	c.fs.StringVar(&c.output, "output", outputs[0], "output format: "+strings.Join(outputs, ", "))
	return c
}

// parse reads args, flags and arguments in any order ("--" ends the
// flags), and checks --output and the number of arguments.
func (c *cliCommand) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if !slices.Contains(c.outputs, c.output) {
		return nil, usagef("--output must be one of %s, not %q", strings.Join(c.outputs, ", "), c.output)
	}
	switch {
	case len(pos) < minArgs:
		return nil, usagef("missing argument")
	case maxArgs >= 0 && len(pos) > maxArgs:
		return nil, usagef("unexpected argument %q", pos[maxArgs])
	}
	return pos, nil
}

// client is the API client for the --url and the environment's credential.
func (c *cliCommand) client() *apiClient { return newAPIClient(c.url) }

// exit turns what a subcommand returned into its exit code, writing the
// usage or the reason to stderr (-h: the usage to stdout, exit 0).
func (c *cliCommand) exit(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(c.stdout)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "keyplane %s: %v\n\n", c.name, err)
		c.printUsage(c.stderr)
		return 2
	}
	fmt.Fprintf(c.stderr, "keyplane %s: %v\n", c.name, err)
	return 1
}

func (c *cliCommand) printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\nflags:\n", c.synopsis)
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
}

// jsonArg reads a flag's JSON value, given inline or as @file.
func jsonArg(flagName, v string) (json.RawMessage, error) {
	raw := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, usagef("--%s: %v", flagName, err)
		}
		raw = b
	}
	if !json.Valid(raw) {
		return nil, usagef("--%s is not JSON (give it inline or as @file)", flagName)
	}
	return json.RawMessage(raw), nil
}

// subcommand is one verb of a client command ("create", "list", ...).
type subcommand func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// dispatch runs the verb args[0] of command name among verbs, or prints
// the command's usage: to stdout for -h, to stderr (exit 2) otherwise.
func dispatch(ctx context.Context, name, usage string, verbs map[string]subcommand, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if v, ok := verbs[args[0]]; ok {
			return v(ctx, args[1:], stdout, stderr)
		}
		if isHelp(args[0]) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "keyplane %s: unknown command %q\n\n", name, args[0])
	}
	fmt.Fprint(stderr, usage)
	return 2
}

func isHelp(s string) bool { return s == "-h" || s == "--help" || s == "-help" || s == "help" }
