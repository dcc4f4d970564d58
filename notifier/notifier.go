package notifier

import (
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

// Notifier scans the expiry schedule.
type Notifier struct {
	cfg Config
	Deps
}

// New returns a notifier.
func New(cfg Config, d Deps) (*Notifier, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, Deps: d}, nil
}

// actor is who notices and recorded expiries are from.
var actor = domain.Actor{Kind: domain.ActorSystem, ID: "notifier", Name: "expiry notifier"}
