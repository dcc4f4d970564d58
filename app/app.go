// Package app assembles keyplane from its parts: it opens the event log,
// folds the projections from it, bootstraps an empty log, and serves the
// HTTP API. cmd/keyplane runs it; end-to-end tests start it on port 0.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane/api"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/notifier"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Config is everything keyplane serve can be told.
type Config struct {
	DataDir       string
	Addr          string
	NatsURL       string
	Replicas      int
	FsyncInterval time.Duration
	NatsListen    string
	NatsCreds     string
	// NatsTLSCA, NatsTLSCert and NatsTLSKey secure the connection to an
	// external cluster: a CA to trust, a client certificate and its key.
	NatsTLSCA, NatsTLSCert, NatsTLSKey string
	// BootstrapOwner is "name:password" for the first owner; empty
	// generates a password and prints it once to Out.
	BootstrapOwner string
	NeverAllowed   bool
	Logger         *slog.Logger
	Out            io.Writer
	Now            func() time.Time

	// SnapshotEvery and SnapshotInterval say when the projections are
	// snapshotted: after that many events or that long, whichever comes
	// first (0: DefaultSnapshotEvery, DefaultSnapshotInterval), and on
	// Close. A negative SnapshotInterval turns snapshots off.
	SnapshotEvery    uint64
	SnapshotInterval time.Duration
	// Notify configures the expiry notifier (zero: defaults, no SMTP).
	Notify notifier.Config
	// MaxStaleness is how long the replica authenticates from an index
	// it cannot confirm current (the stream leader unreachable); past it,
	// and as soon as it knows it is behind, authentication answers 503.
	// Zero serves from the last known index whatever happens.
	MaxStaleness time.Duration
	// UsageFlush is how often the replica writes down the key uses it
	// noted (--usage-flush; 0: DefaultUsageFlush; negative: no usage
	// tracking at all).
	UsageFlush time.Duration
}

// DefaultMaxStaleness is keyplane serve's --max-staleness (README: Running
// a cluster).
const DefaultMaxStaleness = 5 * time.Second

// App is a running keyplane.
type App struct {
	Config   Config
	Log      *eventlog.Log
	Runner   *projections.Runner
	Keys     *projections.Keys
	Auth     *projections.AuthIndex
	Claims   *projections.Claims
	Audit    *projections.Audit
	Expiry   *projections.Expiry
	Notices  *projections.Notices
	Notifier *notifier.Notifier
	Dir      *tenants.Directory
	// Realms are the projects' Elasticsearch users, roles and privileges.
	Realms   *tenants.Realms
	KeyIndex *projections.KeyIndex
	Tenants  *commands.Tenants
	Logins   *tenants.Logins
	Commands *commands.Keys
	API      *api.Server
	// Usage is what this replica noted of key use, not yet in the log
	// (usage.go); usageMu makes one flush at a time.
	Usage   *projections.Usage
	usageMu sync.Mutex

	// secretKey is the secret the replicas share (eventlog.SharedSecret),
	// read before the parts that use it are built.
	secretKey []byte
	// counters keeps the password throttle's counts in the log's bucket
	// every replica shares, read before the API is built.
	counters authn.Counters

	// failed and logCounts feed the probes and metrics (ops.go).
	failed    failure
	logCounts logCounts

	listener net.Listener
	http     *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	runErr   chan error
	snap     snapshots // checkpointing (snapshot.go)
	// collectorHold ends the collector's pause while a snapshot loads
	// (loadSnapshot); nil when none was taken. Calling it again is a no-op.
	collectorHold func()
	// preload is the restore from the local copy of the snapshot while
	// the log opens (snapshot.go); nil when none was tried.
	preload *preload
	// ended are the ended sessions, a projection the API reads.
	ended *projections.EndedSessions
}

// Start opens the log, catches the projections up with it, bootstraps an
// empty log and starts serving HTTP.
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// A notifier that cannot work fails the start before the log opens.
	if err := cfg.Notify.WithDefaults().Validate(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, runErr: make(chan error, 1)}
	opts := eventlog.Options{URL: cfg.NatsURL, DataDir: cfg.DataDir, Replicas: cfg.Replicas,
		FsyncInterval: cfg.FsyncInterval, ListenAddr: cfg.NatsListen, CredsFile: cfg.NatsCreds,
		TLSCA: cfg.NatsTLSCA, TLSCert: cfg.NatsTLSCert, TLSKey: cfg.NatsTLSKey, Logger: cfg.Logger}
	// The projections restore from the local copy of the snapshot while
	// the log opens (preload, snapshot.go); loadSnapshot checks it after.
	a.buildProjections()
	a.preloadSnapshot(opts)
	var err error
	opened := time.Now()
	a.Log, err = eventlog.Open(ctx, opts)
	if err != nil {
		a.waitPreload()
		a.resumeCollector()
		return nil, err
	}
	cfg.Logger.Debug("event log opened", "took", time.Since(opened).Round(time.Millisecond))
	if cfg.FsyncInterval > 0 && cfg.NatsURL == "" {
		cfg.Logger.Warn("fsync relaxed: acknowledged writes from the last interval can be lost in a crash", "fsync_interval", cfg.FsyncInterval)
	}
	// The secret every replica shares: idempotent creates derive their
	// keys' secrets from it, sessions and access tokens are signed with it.
	if a.secretKey, err = a.Log.SharedSecret(ctx, "idempotency-secret"); err != nil {
		a.Close()
		return nil, err
	}
	// The password throttle's counts, shared by every replica.
	if a.counters, err = a.Log.Counters(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.waitPreload() // the API is wired on projections no longer restoring
	a.buildServing()
	if err := a.startProjections(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.bootstrap(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.startNotifier(); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.serve(); err != nil {
		a.Close()
		return nil, err
	}
	a.resumeCollector()
	return a, nil
}

// build wires fresh projections and what serves from them.
func (a *App) build() {
	a.buildProjections()
	a.buildServing()
}

// buildProjections wires fresh projections and their runner: nothing of
// them needs the log.
func (a *App) buildProjections() {
	// The projections that keep something per key share one numbering of
	// the keys (projections.KeyTable): a key event is one hash lookup.
	keys := projections.NewKeyTable()
	a.Keys, a.Auth, a.Claims, a.Dir = projections.NewKeysIn(keys), projections.NewAuthIndexIn(keys), projections.NewClaims(), tenants.NewDirectory()
	a.Audit = projections.NewAuditIn(keys)
	a.Expiry, a.Notices = projections.NewExpiryIn(a.Config.Notify.WithDefaults().Windows, keys), projections.NewNotices()
	a.Realms, a.KeyIndex = tenants.NewRealms(), projections.NewKeyIndexIn(keys)
	ended := projections.NewEndedSessions()
	// What no projection could fold is quarantined where the key table's
	// projections and the sessions refuse it (fail closed), and reported.
	q := keys.Quarantine()
	q.Notify = a.poisoned
	ended.Quarantine, a.Dir.Quarantine, a.Realms.Quarantine = q, q, q
	a.Runner = projections.NewRunner(&a.logCounts, a.Dir, a.Keys, a.Auth, a.Claims, a.Audit, a.Expiry, a.Notices, a.Realms, a.KeyIndex, ended, q)
	a.ended = ended
}

// buildServing wires the commands and the API on the projections and the
// open log.
func (a *App) buildServing() {
	deps := commands.Deps{Store: a.Log, Wait: a.Runner, Now: a.Config.Now}
	a.Logins = tenants.NewLogins(a.Dir, a.Realms)
	a.Tenants = commands.NewTenants(deps, a.Dir, tenants.HashPassword)
	a.Commands = commands.NewKeys(deps, commands.KeysConfig{Keys: a.Keys, Claims: a.Claims,
		SecretKey: a.secretKey, NeverAllowed: a.Config.NeverAllowed, Orgs: a.Dir, Active: a.Keys})
	a.API = a.buildAPI(commands.NewRealms(deps, a.Realms, tenants.HashPassword), a.ended)
	a.usageTracking()
}

// startProjections runs the runner in the background and waits until it
// has applied everything that was in the log at start.
func (a *App) startProjections(ctx context.Context) error {
	if err := a.loadSnapshot(ctx); err != nil {
		return err
	}
	last, err := a.Log.LastSeq(ctx)
	if err != nil {
		return err
	}
	start, bulk := time.Now(), uint64(0)
	if last > a.Runner.Applied()+bulkFoldMin {
		bulk = last - a.Runner.Applied()
		if err := a.foldInBulk(ctx, last); err != nil {
			return fmt.Errorf("catching up projections: %w", err)
		}
	}
	rctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.Runner.Run(rctx, a.Log)
		if err != nil && rctx.Err() == nil {
			a.Config.Logger.Error("projections stopped", "err", err)
			a.failed.set(err)
		}
		a.runErr <- err
	}()
	if err := a.Runner.WaitFor(ctx, last); err != nil {
		return fmt.Errorf("catching up projections: %w", err)
	}
	a.Config.Logger.Info("projections caught up", "events", last, "in_bulk", bulk, "took", time.Since(start).Round(time.Millisecond))
	a.startSnapshots(rctx)
	a.startUsageFlusher(rctx)
	return nil
}

// foldInBulk folds the log up to last the way a replay does (decoded
// ahead on other goroutines, folded in runs) rather than event by event as
// the runner follows it: a start far behind the log, the whole log when
// there is no snapshot.
func (a *App) foldInBulk(ctx context.Context, last uint64) error {
	a.resumeCollector()     // a long catch-up makes garbage to collect
	defer foldingInBulk()() // and is a bulk fold (replay.go)
	if a.Runner.Applied() == 0 {
		reserve(ctx, a.Log, a.Runner)
	}
	return a.Log.ReadBatches(ctx, eventlog.Range{From: a.Runner.Applied() + 1, To: last}, a.Runner.ApplyAll)
}

func (a *App) bootstrap(ctx context.Context) error {
	if o, ok := a.Dir.Org("default"); ok {
		if _, ok := o.ProjectNamed("default"); ok {
			return nil
		}
	}
	owner, pw, given := strings.Cut(a.Config.BootstrapOwner, ":")
	if !given || owner == "" {
		owner = "admin"
		if a.Config.BootstrapOwner != "" && !given {
			return errors.New("KEYPLANE_BOOTSTRAP_OWNER must be name:password")
		}
		var b [18]byte
		_, _ = rand.Read(b[:])
		pw = base64.RawURLEncoding.EncodeToString(b[:])
	}
	created, err := a.Tenants.Bootstrap(ctx, owner, pw)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created && !given {
		fmt.Fprintf(a.Config.Out, "keyplane: created organization \"default\", project \"default\" and owner %q with password %s (shown once)\n", owner, pw)
	}
	return nil
}

func (a *App) serve() error {
	addr := a.Config.Addr
	if addr == "" {
		addr = "127.0.0.1:9200"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.listener = ln
	a.http = &http.Server{Handler: a.API.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Config.Logger.Handler(), slog.LevelWarn)}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Config.Logger.Error("http server", "err", err)
		}
	}()
	a.Config.Logger.Info("keyplane serving", "addr", ln.Addr().String())
	return nil
}

// URL is the base URL of the HTTP API.
func (a *App) URL() string { return "http://" + a.listener.Addr().String() }

// Close stops serving (letting requests in flight finish), the projections
// and the log.
func (a *App) Close() {
	a.waitPreload()
	a.resumeCollector()
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.http.Shutdown(ctx)
		cancel()
	}
	if a.Notifier != nil {
		a.Notifier.Stop()
	}
	if a.Usage != nil && a.Log != nil && a.cancel != nil {
		// What this replica saw since its last flush goes down before it
		// stops, so a rolling restart forgets no use.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		a.flushUsage(ctx)
		cancel()
	}
	a.finalSnapshot()
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Log != nil {
		a.Log.Close()
	}
}
