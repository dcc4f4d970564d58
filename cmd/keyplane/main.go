// Command keyplane is the API-key control plane: `keyplane serve` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/keyplane/keyplane/app"
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `keyplane: an event-sourced API-key control plane

usage:
  keyplane serve [flags]    run the API and console (embedded JetStream by default)
  keyplane replay [flags]   rebuild the projections from the log and check a live server's
                            (--as-of T|SEQ: print the key list as it was then)
  keyplane audit export --org ORG [--since T] [--until T]
                            write an organization's audit trail as JSON lines

the terminal client of a running keyplane (console REST API):
  keyplane keys create|list|show|update|rotate|revoke
  keyplane orgs|projects|members list|create

Run "keyplane serve -h" for its flags, "keyplane help keys" for the client's.
`

// Main runs a subcommand and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "replay":
		return replay(ctx, args[1:], stdout, stderr)
	case "audit":
		return audit(ctx, args[1:], stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], stdout, stderr)
	case "orgs":
		return orgs(ctx, args[1:], stdout, stderr)
	case "projects":
		return projects(ctx, args[1:], stdout, stderr)
	case "members":
		return members(ctx, args[1:], stdout, stderr)
	case "help":
		return help(args[1:], stdout, stderr)
	case "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "keyplane: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// helpTexts are the topics of `keyplane help TOPIC`.
var helpTexts = map[string]string{"keys": keysUsage, "orgs": orgsUsage, "projects": projectsUsage, "members": membersUsage}

func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if t, ok := helpTexts[args[0]]; ok {
		fmt.Fprint(stdout, t)
		return 0
	}
	fmt.Fprintf(stderr, "keyplane help: no help on %q (try keys, orgs, projects, members, or \"keyplane %s -h\")\n", args[0], args[0])
	return 2
}

// env returns the environment variable or a default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envDuration is the duration in the environment variable name, def when
// it is unset (serve refuses one that is not a duration).
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func serveFlags(fs *flag.FlagSet) *app.Config {
	c := &app.Config{}
	fs.StringVar(&c.DataDir, "data-dir", env("KEYPLANE_DATA_DIR", "./data"), "where the embedded JetStream keeps the log ($KEYPLANE_DATA_DIR)")
	fs.StringVar(&c.Addr, "addr", env("KEYPLANE_ADDR", "127.0.0.1:9200"), "HTTP listen address ($KEYPLANE_ADDR)")
	fs.StringVar(&c.NatsURL, "nats-url", env("KEYPLANE_NATS_URL", ""), "external NATS server or cluster URLs, comma-separated; empty embeds one ($KEYPLANE_NATS_URL)")
	fs.IntVar(&c.Replicas, "replicas", 1, "stream replication factor on a cluster")
	fs.StringVar(&c.NatsCreds, "nats-creds", env("KEYPLANE_NATS_CREDS", ""), "NATS credentials file for a secured cluster")
	fs.StringVar(&c.NatsTLSCA, "nats-tls-ca", env("KEYPLANE_NATS_TLS_CA", ""), "CA certificate (PEM) to verify the NATS servers with")
	fs.StringVar(&c.NatsTLSCert, "nats-tls-cert", env("KEYPLANE_NATS_TLS_CERT", ""), "client certificate (PEM) for NATS servers that verify clients")
	fs.StringVar(&c.NatsTLSKey, "nats-tls-key", env("KEYPLANE_NATS_TLS_KEY", ""), "private key (PEM) of --nats-tls-cert")
	fs.StringVar(&c.NatsListen, "nats-listen", "", "also expose the embedded NATS server on host:port (default: in-process only)")
	fs.BoolVar(&c.NeverAllowed, "allow-never-expiring", true, "let keys be created with expiration \"never\"")
	fs.Uint64Var(&c.SnapshotEvery, "snapshot-every", app.DefaultSnapshotEvery, "snapshot the projections after this many events")
	fs.DurationVar(&c.SnapshotInterval, "snapshot-interval", app.DefaultSnapshotInterval, "and at least this often when anything changed; negative turns snapshots off")
	fs.DurationVar(&c.MaxStaleness, "max-staleness", envDuration("KEYPLANE_MAX_STALENESS", app.DefaultMaxStaleness),
		"refuse authentication (503) when the index was not confirmed current within this long; 0 serves from the last known index ($KEYPLANE_MAX_STALENESS)")
	fs.DurationVar(&c.UsageFlush, "usage-flush", envDuration("KEYPLANE_USAGE_FLUSH", app.DefaultUsageFlush),
		"write the key uses this replica noted to the log this often (at most one record per key per hour); negative turns usage tracking off ($KEYPLANE_USAGE_FLUSH)")
	notifyFlags(fs, &c.Notify)
	return c
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := serveFlags(fs)
	fsync := fs.String("fsync", env("KEYPLANE_FSYNC", "always"), `"always" (fsync before acknowledging) or an interval such as 2m (embedded server only)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *fsync != "always" {
		d, err := time.ParseDuration(*fsync)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "keyplane: --fsync must be \"always\" or a positive duration, not %q\n", *fsync)
			return 2
		}
		cfg.FsyncInterval = d
	}
	for name, example := range map[string]string{"KEYPLANE_MAX_STALENESS": "5s", "KEYPLANE_USAGE_FLUSH": "1m"} {
		if v := os.Getenv(name); v != "" {
			if _, err := time.ParseDuration(v); err != nil {
				fmt.Fprintf(stderr, "keyplane: %s must be a duration such as %s, not %q\n", name, example, v)
				return 2
			}
		}
	}
	if cfg.UsageFlush == 0 {
		fmt.Fprintf(stderr, "keyplane: --usage-flush must be a positive duration (or negative for no usage tracking), not 0\n")
		return 2
	}
	if cfg.MaxStaleness < 0 {
		fmt.Fprintf(stderr, "keyplane: --max-staleness must be 0 (off) or a positive duration, not %v\n", cfg.MaxStaleness)
		return 2
	}
	if err := checkClusterFlags(cfg); err != nil {
		fmt.Fprintf(stderr, "keyplane: %v\n", err)
		return 2
	}
	cfg.BootstrapOwner = os.Getenv("KEYPLANE_BOOTSTRAP_OWNER")
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Out = stdout
	ctx, stop := signalContext(ctx)
	defer stop()
	a, err := app.Start(ctx, *cfg)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane: %v\n", err)
		return 1
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	a.Close()
	return 0
}
