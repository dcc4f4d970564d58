// Package authn authenticates requests and computes what their principal
// may do: credentials are parsed once (Parse), a key's principal is bounded
// by its owner's live role (OwnerPermission), passwords are checked under
// the throttle, console sessions and access tokens are signed and checked
// here. It knows no HTTP: the api package reads a request into a Request
// and maps the errors (domain's typed errors) to answers.
package authn

import (
	"crypto/rand"
	"log/slog"
	"time"

	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// Config is everything an Authenticator reads: the read models its
// decisions fold, the shared secret its signatures derive from, the clock.
type Config struct {
	// Secret is what every replica shares, from which sessions, access
	// tokens and the throttle's keys are derived. Empty: a random key of
	// this process (as for a server built without a log), never an empty
	// key, with which anyone could sign.
	Secret []byte
	Now    func() time.Time
	Logger *slog.Logger

	Dir    *tenants.Directory
	Realms *tenants.Realms
	Logins *tenants.Logins
	Keys   *projections.Keys
	Auth   *projections.AuthIndex
	// Ended is the logouts, ended tokens and revocations of every replica;
	// nil: none.
	Ended *projections.EndedSessions
	// Counters keeps the throttle's counts: the log's bucket every replica
	// shares; nil: this process's memory.
	Counters Counters

	// Fresh, when set, says whether the read models are current enough to
	// authenticate from (nil: they are; an error, unavailable, refuses
	// every credential with it: fail closed rather than accept a key
	// revoked elsewhere).
	Fresh func() error

	// Verdict and Malformed observe key verifications (metrics); nil: not
	// observed.
	Verdict   func(projections.Verdict)
	Malformed func()
}

// Authenticator authenticates requests; built by New, never changed after.
type Authenticator struct {
	now       func() time.Time
	log       *slog.Logger
	dir       *tenants.Directory
	realms    *tenants.Realms
	logins    *tenants.Logins
	keys      *projections.Keys
	auth      *projections.AuthIndex
	ended     *projections.EndedSessions
	verdict   func(projections.Verdict)
	malformed func()
	fresh     func() error

	sessions *sessions
	tokenKey []byte
	throttle *throttle
}

// New builds an Authenticator with every dependency of c.
func New(c Config) *Authenticator {
	root := c.Secret
	if len(root) == 0 {
		root = make([]byte, 32)
		_, _ = rand.Read(root)
	}
	a := &Authenticator{now: c.Now, log: c.Logger, dir: c.Dir, realms: c.Realms, logins: c.Logins,
		keys: c.Keys, auth: c.Auth, ended: c.Ended, verdict: c.Verdict, malformed: c.Malformed, fresh: c.Fresh,
		sessions: newSessions(root), tokenKey: tokenKeyOf(root)}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.verdict == nil {
		a.verdict = func(projections.Verdict) {}
	}
	if a.malformed == nil {
		a.malformed = func() {}
	}
	if a.fresh == nil {
		a.fresh = func() error { return nil }
	}
	store := c.Counters
	if store == nil {
		store = newMemCounters()
	}
	a.throttle = newThrottle(store, hmacSHA256(root, "keyplane password throttle v1"))
	return a
}

// Now is the Authenticator's clock.
func (a *Authenticator) Now() time.Time { return a.now() }
