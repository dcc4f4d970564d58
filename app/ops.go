package app

import (
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/api"
	"github.com/keyplane/keyplane/api/rest"
	"github.com/keyplane/keyplane/authn"
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// buildAPI builds the HTTP API whole: its authenticator, its probes
// (/healthz, /readyz) and its metrics (/metrics), each replica its own: a
// dedicated registry, so that several apps in one process keep apart.
func (a *App) buildAPI(realm *commands.Realms, ended *projections.EndedSessions) *api.Server {
	probe := &api.Probe{Log: a.Log, Applied: a.Runner.Applied, Failed: a.failed.get, Now: a.Config.Now,
		Quarantined: a.Runner.Quarantine().First, Freshness: a.freshness, MaxStaleness: a.Config.MaxStaleness}
	m := a.metrics(probe)
	auth := authn.New(authn.Config{Secret: a.secretKey, Now: a.Config.Now, Logger: a.Config.Logger,
		Dir: a.Dir, Realms: a.Realms, Logins: a.Logins, Keys: a.Keys, Auth: a.Auth,
		Ended: ended, Counters: a.counters, Verdict: m.AuthVerdict, Malformed: m.AuthMalformed, Fresh: a.fresh})
	return api.New(api.Config{Commands: a.Commands, Tenants: a.Tenants, Realm: realm,
		Dir: a.Dir, Realms: a.Realms, Keys: a.Keys, KeyIndex: a.KeyIndex, Authn: auth,
		Now: a.Config.Now, Logger: a.Config.Logger, Probe: probe, Metrics: m,
		Trail: &rest.Trail{Audit: a.Audit, Log: a.Log, Runner: a.Runner}})
}

// freshness is how current the projections are known to be.
func (a *App) freshness() eventlog.Freshness { return a.Log.Freshness(a.Runner.Applied()) }

// fresh refuses to authenticate from projections known to be behind the
// log, or not confirmed current within MaxStaleness (real time: the
// bound is on the network's behaviour, not on the clock keys expire by).
func (a *App) fresh() error {
	if a.Config.MaxStaleness <= 0 {
		return nil
	}
	return a.freshness().Check(time.Now(), a.Config.MaxStaleness)
}

// metrics are the replica's metrics beyond the API's own.
func (a *App) metrics(probe *api.Probe) *api.Metrics {
	m := api.NewMetrics()
	m.CounterFunc("keyplane_conflicts_total",
		"Appends refused because the aggregate had moved on (optimistic concurrency); most are retried and succeed.",
		func() float64 { return float64(a.Log.Conflicts()) })
	m.GaugeFunc("keyplane_projection_applied_sequence", "Last log sequence the local projections applied.",
		func() float64 { return float64(a.Runner.Applied()) })
	m.GaugeFunc("keyplane_projection_lag_sequences", "Events in the log the local projections have not applied yet.",
		func() float64 { n, _ := probe.Lag(); return float64(n) })
	m.GaugeFunc("keyplane_projection_lag_seconds", "Age of the oldest event the local projections have not applied yet (0 when caught up).",
		func() float64 { _, s := probe.Lag(); return s })
	m.GaugeFunc("keyplane_index_staleness_seconds", "How long ago the stream leader last confirmed the local projections current (-1: never).",
		func() float64 { return staleSeconds(a.freshness().Staleness(time.Now())) })
	m.GaugeFunc("keyplane_index_behind_seconds", "How long the oldest event known to be in the log has waited to be applied here (0: none).",
		func() float64 { return a.freshness().Behind(time.Now()).Seconds() })
	m.GaugeFunc("keyplane_auth_fail_closed", "1 while this replica refuses to authenticate (503) because it cannot vouch for its index (see /readyz), else 0.",
		func() float64 {
			if a.fresh() != nil {
				return 1
			}
			return 0
		})
	m.GaugeFunc("keyplane_auth_index_keys", "Keys in the local auth index.",
		func() float64 { return float64(a.Auth.Len()) })
	m.CounterFunc("keyplane_notices_delivered_total",
		"Expiry notice emails accepted by the mail server, as recorded in the log by any replica (use max over replicas, not sum).",
		func() float64 { return float64(a.logCounts.delivered.Load()) })
	m.CounterFunc("keyplane_notices_failed_total",
		"Expiry notice recipients given up on after the last retry, as recorded in the log by any replica (use max over replicas, not sum).",
		func() float64 { return float64(a.logCounts.failed.Load()) })
	m.CounterFunc("keyplane_projection_poisoned_events_total",
		"Events in the log this replica's projections could not fold (undecodable, unknown or refused): it refuses what each concerns (see /readyz).",
		func() float64 { return float64(a.Runner.Quarantine().Len()) })
	return m
}

// staleSeconds is a staleness for a gauge: -1 for never confirmed.
func staleSeconds(d time.Duration) float64 {
	if d == time.Duration(1<<63-1) {
		return -1
	}
	return d.Seconds()
}

// poisoned reports an event the projections could not fold, by sequence
// and subject only: its content may hold anything, secrets included.
func (a *App) poisoned(p projections.Poisoned) {
	a.Config.Logger.Error("projections quarantined an event they cannot fold; refusing what it concerns",
		"seq", p.Seq, "subject", p.Subject, "cause", p.Cause)
}

// logCounts is a projection that counts the notifier's outcomes as the log
// records them. Counting what the log holds, rather than what this process
// sent, gives every replica the same figure for the whole cluster and
// survives restarts.
type logCounts struct {
	delivered, failed atomic.Uint64
}

// Event type names of the notifier's outcomes (domain/notice.go).
const (
	evNoticeDelivered = "NoticeDelivered"
	evNoticeFailed    = "NoticeFailed"
)

// Apply counts; it reads only the envelope's type, never the payload.
func (c *logCounts) Apply(ev domain.Event) error {
	switch ev.Type {
	case evNoticeDelivered:
		c.delivered.Add(1)
	case evNoticeFailed:
		c.failed.Add(1)
	}
	return nil
}

// failure holds the error that stopped the projections for good.
type failure struct{ err atomic.Pointer[error] }

func (f *failure) set(err error) { f.err.Store(&err) }

func (f *failure) get() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}
