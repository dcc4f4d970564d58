package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/app"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

const replayUsage = `usage: keyplane replay [flags]

Rebuilds every projection from the first event of the log and checks that
the result equals what a live server holds: with --server, the digests that
server reports (its log must be reachable here too: serve --nats-listen and
replay --nats-url); without it, the state a server restarted now would
load (latest snapshot plus the log after it). Exits 1 on any difference.

With --as-of it prints the key list as it was at a sequence or time.

flags:
`

// logFlags are how a CLI command finds the log.
type logFlags struct {
	dataDir, natsURL, natsCreds string
	tlsCA, tlsCert, tlsKey      string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.dataDir, "data-dir", env("KEYPLANE_DATA_DIR", "./data"), "data dir of an embedded log (not while a server runs on it) ($KEYPLANE_DATA_DIR)")
	fs.StringVar(&l.natsURL, "nats-url", env("KEYPLANE_NATS_URL", ""), "NATS server or cluster holding the log, comma-separated ($KEYPLANE_NATS_URL)")
	fs.StringVar(&l.natsCreds, "nats-creds", env("KEYPLANE_NATS_CREDS", ""), "NATS credentials file for a secured cluster")
	fs.StringVar(&l.tlsCA, "nats-tls-ca", env("KEYPLANE_NATS_TLS_CA", ""), "CA certificate (PEM) to verify the NATS servers with")
	fs.StringVar(&l.tlsCert, "nats-tls-cert", env("KEYPLANE_NATS_TLS_CERT", ""), "client certificate (PEM) for NATS servers that verify clients")
	fs.StringVar(&l.tlsKey, "nats-tls-key", env("KEYPLANE_NATS_TLS_KEY", ""), "private key (PEM) of --nats-tls-cert")
}

func (l *logFlags) open(ctx context.Context) (*eventlog.Log, error) {
	return eventlog.Open(ctx, eventlog.Options{URL: l.natsURL, DataDir: l.dataDir, CredsFile: l.natsCreds,
		TLSCA: l.tlsCA, TLSCert: l.tlsCert, TLSKey: l.tlsKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func replay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	var lf logFlags
	lf.register(fs)
	server := fs.String("server", "", "base URL of a live keyplane to compare with, e.g. http://127.0.0.1:9200")
	asOf := fs.String("as-of", "", "print the key list as of a sequence number or an RFC 3339 time instead")
	org := fs.String("org", "", "with --as-of: only this organization (id or name)")
	asJSON := fs.Bool("json", false, "with --as-of: print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keyplane replay: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var at projections.AsOf
	if *asOf != "" {
		var err error
		if at, err = projections.ParseAsOf(*asOf, time.Now()); err != nil {
			fmt.Fprintf(stderr, "keyplane replay: %s\n", domain.ReasonOf(err))
			return 2
		}
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	log, err := lf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane replay: %v\n", err)
		return 1
	}
	defer log.Close()
	if *asOf != "" {
		return printAsOf(ctx, log, *org, at, *asJSON, stdout, stderr)
	}
	return verify(ctx, log, *server, stdout, stderr)
}

// reference is what the rebuild is compared with.
type reference struct {
	what    string
	seq     uint64
	digests map[string]string
}

// verify rebuilds the projections and compares their digests.
func verify(ctx context.Context, log *eventlog.Log, server string, stdout, stderr io.Writer) int {
	ref, err := referenceDigests(ctx, log, server)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane replay: %v\n", err)
		return 1
	}
	bar := newProgress(stderr, ref.seq)
	start := time.Now()
	r, err := app.Rebuild(ctx, app.Config{}, log, ref.seq, bar.update)
	bar.done(r.Applied())
	if err != nil {
		fmt.Fprintf(stderr, "keyplane replay: %v\n", err)
		return 1
	}
	reportPoisoned(stderr, r.Quarantine().Events())
	took := time.Since(start)
	fmt.Fprintf(stdout, "rebuilt %d events in %s (%.0f events/s)\n", r.Applied(), took.Round(time.Millisecond),
		float64(r.Applied())/max(took.Seconds(), 1e-9))
	_, rebuilt, err := r.Digests()
	if err != nil {
		fmt.Fprintf(stderr, "keyplane replay: %v\n", err)
		return 1
	}
	if ref.digests == nil {
		fmt.Fprintf(stdout, "%s: nothing to compare with\n", ref.what)
		printDigests(stdout, rebuilt, nil)
		return 0
	}
	fmt.Fprintf(stdout, "compared at sequence %d with %s\n", ref.seq, ref.what)
	if !printDigests(stdout, rebuilt, ref.digests) {
		fmt.Fprintln(stdout, "DIFFERENT: the live projections are not what the log says")
		return 1
	}
	fmt.Fprintln(stdout, "OK: every projection equals the log's")
	return 0
}

// referenceDigests asks a live server, or restores the latest snapshot
// and folds the log after it, as a restarting server would.
func referenceDigests(ctx context.Context, log *eventlog.Log, server string) (reference, error) {
	if server != "" {
		return serverDigests(ctx, log, server)
	}
	last, err := log.LastSeq(ctx)
	if err != nil {
		return reference{}, err
	}
	r, from, err := app.Restarted(ctx, app.Config{}, log, last)
	if err != nil {
		return reference{}, err
	}
	if from == 0 {
		return reference{what: "no usable snapshot", seq: last}, nil
	}
	_, d, err := r.Digests()
	return reference{what: fmt.Sprintf("the snapshot at sequence %d plus the log after it", from), seq: last, digests: d}, err
}

func serverDigests(ctx context.Context, log *eventlog.Log, server string) (reference, error) {
	secret, err := log.SharedSecret(ctx, rest.OperatorSecret)
	if err != nil {
		return reference{}, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(server, "/")+"/api/v1/_operator/digests", nil)
	if err != nil {
		return reference{}, err
	}
	req.Header.Set("Authorization", "Bearer "+rest.OperatorToken(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reference{}, fmt.Errorf("asking %s for its digests: %w", server, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return reference{}, fmt.Errorf("asking %s for its digests: %s: %s (is it serving this log?)", server, res.Status, b)
	}
	var body struct {
		Seq     uint64            `json:"seq"`
		Digests map[string]string `json:"digests"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return reference{}, fmt.Errorf("digests from %s: %w", server, err)
	}
	return reference{what: "the live server " + server, seq: body.Seq, digests: body.Digests}, nil
}

// printDigests prints one line per projection and reports whether every
// one matches (a projection only one side has is a difference).
func printDigests(w io.Writer, rebuilt, ref map[string]string) bool {
	names := map[string]bool{}
	for n := range rebuilt {
		names[n] = true
	}
	for n := range ref {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	same := true
	for _, n := range sorted {
		verdict := ""
		if ref != nil {
			verdict = "equal"
			if rebuilt[n] != ref[n] {
				verdict, same = "DIFFERENT", false
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, short(rebuilt[n]), verdict)
	}
	tw.Flush()
	return same
}

func short(d string) string {
	if d == "" {
		return "(missing)"
	}
	return d[:min(16, len(d))]
}

// printAsOf prints the key list as of at.
func printAsOf(ctx context.Context, log *eventlog.Log, orgRef string, at projections.AsOf, asJSON bool, stdout, stderr io.Writer) int {
	var tenant domain.TenantID
	if orgRef != "" {
		var err error
		if tenant, err = resolveOrg(ctx, log, orgRef); err != nil {
			fmt.Fprintf(stderr, "keyplane replay: %s\n", domain.ReasonOf(err))
			return 1
		}
	}
	past, err := projections.KeysAsOf(ctx, log, tenant, at)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane replay: %v\n", err)
		return 1
	}
	reportPoisoned(stderr, past.Poisoned())
	now := past.StatusTime(at)
	keys := past.All(tenant)
	if asJSON {
		return writeAsOfJSON(stdout, past, now, keys)
	}
	if past.Seq == 0 {
		fmt.Fprintln(stdout, "key list before any key event: no keys")
		return 0
	}
	fmt.Fprintf(stdout, "key list as of sequence %d (%s), statuses at %s\n", past.Seq, past.Time.Format(time.RFC3339), now.Format(time.RFC3339))
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tORG\tSCOPE\tOWNER\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range keys {
		exp := "never"
		if !k.Expires.IsZero() {
			exp = k.Expires.UTC().Format(time.RFC3339)
		}
		used := "never"
		if !k.LastUsed.IsZero() {
			used = k.LastUsed.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Tenant, scopeOf(&k), k.Owner.User, k.Status(now),
			k.Created.UTC().Format(time.RFC3339), exp, used)
	}
	tw.Flush()
	return 0
}

// reportPoisoned tells of the events a fold could not read and went past,
// by sequence and subject only (their content may hold secrets): a replay
// carries on past them, as a server does (projections.Quarantine).
func reportPoisoned(w io.Writer, poisoned []projections.Poisoned) {
	if len(poisoned) == 0 {
		return
	}
	fmt.Fprintf(w, "keyplane replay: %d event(s) cannot be folded; what each concerns is refused (left out):\n", len(poisoned))
	for _, p := range poisoned {
		fmt.Fprintf(w, "  sequence %d on %s: %s\n", p.Seq, p.Subject, p.Cause)
	}
}

func scopeOf(k *domain.Key) string {
	if k.Scope == domain.ScopeProject {
		return "project:" + string(k.Project)
	}
	return string(k.Scope)
}

// pastKey is one key of `replay --as-of --json`: never its hash.
type pastKey struct {
	ID         domain.KeyID     `json:"id"`
	Name       string           `json:"name"`
	Org        domain.TenantID  `json:"org"`
	Scope      domain.Scope     `json:"scope"`
	Project    domain.ProjectID `json:"project,omitempty"`
	Type       domain.KeyType   `json:"type"`
	Owner      string           `json:"owner"`
	Status     domain.KeyStatus `json:"status"`
	Created    time.Time        `json:"created"`
	Expiration *time.Time       `json:"expiration,omitempty"`
	CreatedBy  domain.Actor     `json:"created_by"`
	// LastUsed is the key's last recorded use then; absent if never.
	LastUsed *time.Time `json:"last_used,omitempty"`
}

func writeAsOfJSON(w io.Writer, past projections.PastKeys, now time.Time, keys []domain.Key) int {
	out := make([]pastKey, len(keys))
	for i, k := range keys {
		out[i] = pastKey{ID: k.ID, Name: k.Name, Org: k.Tenant, Scope: k.Scope, Project: k.Project, Type: k.Type,
			Owner: k.Owner.User, Status: k.Status(now), Created: k.Created.UTC(), CreatedBy: k.CreatedBy}
		if !k.Expires.IsZero() {
			e := k.Expires.UTC()
			out[i].Expiration = &e
		}
		if !k.LastUsed.IsZero() {
			u := k.LastUsed.UTC()
			out[i].LastUsed = &u
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	var statusTime *time.Time
	if !now.IsZero() {
		statusTime = &now
	}
	_ = enc.Encode(map[string]any{"as_of": map[string]any{"seq": past.Seq, "time": past.When(), "status_time": statusTime}, "api_keys": out})
	return 0
}

// resolveOrg finds an organization by unique name (its name claim) or id.
func resolveOrg(ctx context.Context, log *eventlog.Log, ref string) (domain.TenantID, error) {
	claim, err := log.Last(ctx, eventlog.SubjectOf(domain.SystemTenant, domain.AggOrgName, domain.UserAggID(ref)))
	if err != nil {
		return "", err
	}
	if claim != nil {
		p, err := claim.Decode()
		if err != nil {
			return "", err
		}
		if c, ok := p.(domain.OrgNameClaimed); ok {
			return c.OrgID, nil
		}
	}
	if domain.ValidToken(ref) {
		t := domain.TenantID(ref)
		if ev, err := log.Last(ctx, eventlog.SubjectOf(t, domain.AggOrg, ref)); err == nil && ev != nil {
			return t, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", domain.NotFound("organization [%s] not found in the log", ref)
}

// signalContext ends on SIGINT or SIGTERM, so that a long replay stops
// cleanly (and an embedded log is closed properly).
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
