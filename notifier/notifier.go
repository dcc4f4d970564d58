package notifier

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
	"github.com/robfig/cron/v3"
)

// Keys finds a key's current state (projections.Keys).
type Keys interface {
	Get(t domain.TenantID, id domain.KeyID) (domain.Key, bool)
}

// Directory finds members and organizations (tenants.Directory).
type Directory interface {
	User(name string) (*domain.User, bool)
	Org(ref string) (*domain.Org, bool)
}

// Deps are the parts the notifier reads and writes.
type Deps struct {
	// Log is read by the delivery worker's consumer.
	Log *eventlog.Log
	// Commands records expiries, notices and their outcomes: the notifier
	// writes nothing to the log itself.
	Commands *commands.Notices
	// Wait is the runner of the projections below: the notifier waits on
	// it to read its own writes.
	Wait    eventlog.Waiter
	Expiry  *projections.Expiry
	Notices *projections.Notices
	Keys    Keys
	Dir     Directory
}

// Notifier runs the expiry scan on a schedule and, when an SMTP server is
// configured, the delivery worker.
type Notifier struct {
	cfg Config
	Deps

	cron   *cron.Cron
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a notifier; Start runs it.
func New(cfg Config, d Deps) (*Notifier, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, Deps: d}, nil
}

// consumerName is the durable consumer every replica's worker shares.
const consumerName = "notifier"

// Start schedules the scan, runs one right away (keys that crossed a
// window while keyplane was down are not kept waiting for the schedule),
// and starts the delivery worker if a mail server is configured.
func (n *Notifier) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	log := cronLogger{n.cfg.Logger}
	c := cron.New(cron.WithParser(parser), cron.WithLocation(time.UTC), cron.WithLogger(log),
		// Recover inside Skip: a panic must be caught before it unwinds
		// past Skip, which would then never give its token back and skip
		// every later scan.
		cron.WithChain(cron.SkipIfStillRunning(log), cron.Recover(log)))
	id, err := c.AddFunc(n.cfg.Schedule, func() { n.scanJob(ctx) })
	if err != nil {
		cancel()
		return domain.Invalid("notify schedule [%s]: %v", n.cfg.Schedule, err)
	}
	n.cron, n.cancel = c, cancel
	first := c.Entry(id).WrappedJob // the same chain: not twice at once, panics caught
	c.Start()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		first.Run()
	}()
	if n.cfg.SMTP.Enabled() {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.work(ctx)
		}()
	} else {
		n.cfg.Logger.Warn("no SMTP server (--smtp-addr): expiry notices are recorded and kept until one is configured")
	}
	return nil
}

// Stop ends the schedule and the worker and waits for them.
func (n *Notifier) Stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	<-n.cron.Stop().Done()
	n.wg.Wait()
}

func (n *Notifier) scanJob(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	res, err := n.Scan(ctx, n.cfg.Now())
	switch {
	case err != nil && ctx.Err() == nil:
		n.cfg.Logger.Error("expiry scan", "err", err, "noticed", res.Noticed, "expired", res.Expired)
	case res.Noticed+res.Expired > 0:
		n.cfg.Logger.Info("expiry scan", "noticed", res.Noticed, "expired", res.Expired, "already_recorded", res.AlreadyRecorded)
	}
}

// cronLogger sends cron's chatter to slog: its routine messages at debug
// level, its errors (a panicked scan) as errors.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
