package notifier

import (
	"context"
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
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
	Log *eventlog.Log
	// Wait is the runner of the projections below: the notifier waits on
	// it to read its own writes.
	Wait    eventlog.Waiter
	Expiry  *projections.Expiry
	Notices *projections.Notices
	Keys    Keys
	Dir     Directory
}

// Notifier runs the expiry scan and, when an SMTP server is configured,
// the delivery worker.
type Notifier struct {
	cfg Config
	Deps

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

// actor is who notices and recorded expiries are from.
var actor = domain.Actor{Kind: domain.ActorSystem, ID: "notifier", Name: "expiry notifier"}

// consumerName is the durable consumer every replica's worker shares.
const consumerName = "notifier"

// Start runs a scan and starts the delivery worker if a mail server is
// configured.
func (n *Notifier) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.scanJob(ctx)
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

// Stop ends the scan and the worker and waits for them.
func (n *Notifier) Stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
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
