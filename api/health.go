package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

// LogHealth is what the probes ask the log (an *eventlog.Log).
type LogHealth interface {
	Connected() bool
	Health(ctx context.Context) (eventlog.Health, error)
	EventTime(ctx context.Context, seq uint64) (time.Time, error)
}

// Probe tells whether this replica is alive (/healthz) and ready
// (/readyz), and how far its projections trail the log (/metrics).
type Probe struct {
	Log LogHealth
	// Applied is the last sequence the projections applied.
	Applied func() uint64
	// Failed is the error that stopped the projections for good, nil
	// while they run. A replica in that state needs a restart.
	Failed func() error
	// MaxLag is how old the oldest event not yet applied may be for the
	// replica to count as ready; DefaultMaxLag when zero.
	MaxLag time.Duration
	// TTL is how long one look at the stream serves probes and scrapes,
	// so that they do not hammer the log; DefaultProbeTTL when zero.
	TTL time.Duration
	// Now is the clock events are stamped with (the app's).
	Now func() time.Time
	// Quarantined, when set, gives the first n events the projections
	// could not fold, and so refuse what they concern, and how many there
	// are (projections.Quarantine.First).
	Quarantined func(n int) (first []projections.Poisoned, total int)
	// Freshness, when set, is how current the projections are known to
	// be; MaxStaleness the replica's bound on it (0: none), past which it
	// refuses to authenticate.
	Freshness    func() eventlog.Freshness
	MaxStaleness time.Duration

	mu       sync.Mutex
	lookedAt time.Time // wall clock of the last look at the stream
	health   eventlog.Health
	err      error
	seqAt    uint64 // the sequence whose time is cached in at
	at       time.Time
}

// Defaults for Probe.
const (
	DefaultMaxLag   = 5 * time.Second
	DefaultProbeTTL = time.Second
	probeTimeout    = 2 * time.Second
)

var errNotConnected = errors.New("not connected to NATS")

// Readiness is the body of /readyz.
type Readiness struct {
	Ready     bool             `json:"ready"`
	Reason    string           `json:"reason,omitempty"`
	Connected bool             `json:"connected"`
	Stream    *eventlog.Health `json:"stream,omitempty"`
	Applied   uint64           `json:"applied_seq"`
	// LagSequences is how many events the projections trail the log by;
	// LagSeconds how long ago the oldest of them was written.
	LagSequences uint64   `json:"lag_sequences"`
	LagSeconds   float64  `json:"lag_seconds"`
	Warnings     []string `json:"warnings,omitempty"`
	// Poisoned are the first MaxPoisonedShown events the projections could
	// not fold, by sequence and subject; PoisonedCount counts them all.
	// The replica stays ready: it folds on past them and refuses what they
	// concern (a key, an organization's keys), which a restart would not
	// change. The probe needs no credentials, so a subject shows only its
	// aggregate type (kp.*.key.*): which organization and which key are in
	// the replica's log line, and in the log at that sequence.
	PoisonedCount int                    `json:"poisoned_count,omitempty"`
	Poisoned      []projections.Poisoned `json:"poisoned_events,omitempty"`
	// Freshness is how current the index authentication reads is known
	// to be, and whether the replica authenticates from it.
	Freshness *FreshnessReport `json:"freshness,omitempty"`
}

// FreshnessReport is /readyz's account of the index's freshness.
type FreshnessReport struct {
	Applied uint64 `json:"applied_seq"`
	Known   uint64 `json:"known_seq"`
	// ConfirmedAgo is how long ago the stream leader last confirmed the
	// index current (-1: never); BehindSeconds how long the oldest event
	// known to be in the log has waited to be applied here.
	ConfirmedAgo  float64 `json:"confirmed_seconds_ago"`
	BehindSeconds float64 `json:"behind_seconds"`
	MaxStaleness  float64 `json:"max_staleness_seconds"`
	// Authenticating is false while the replica refuses every credential
	// (503 with Retry-After); Reason says why.
	Authenticating bool   `json:"authenticating"`
	Reason         string `json:"reason,omitempty"`
}

// freshness reports the index's freshness; nil without a Freshness.
func (p *Probe) freshness() *FreshnessReport {
	if p.Freshness == nil {
		return nil
	}
	f, now := p.Freshness(), time.Now()
	r := &FreshnessReport{Applied: f.Applied, Known: f.Known, ConfirmedAgo: -1,
		BehindSeconds: f.Behind(now).Seconds(), MaxStaleness: p.MaxStaleness.Seconds(), Authenticating: true}
	if !f.ConfirmedAt.IsZero() {
		r.ConfirmedAgo = f.Staleness(now).Seconds()
	}
	if err := f.Check(now, p.MaxStaleness); err != nil {
		r.Authenticating, r.Reason = false, domain.ReasonOf(err)
	}
	return r
}

// MaxPoisonedShown bounds the poisoned events /readyz lists.
const MaxPoisonedShown = 100

// Check looks at the connection, the stream and the projections.
func (p *Probe) Check(ctx context.Context) Readiness {
	out := Readiness{Connected: p.Log.Connected(), Applied: p.Applied()}
	h, err := p.look(ctx)
	if err == nil {
		out.Stream = &h
		out.Warnings = warnings(h)
		out.LagSequences, out.LagSeconds, err = p.lag(ctx, h.LastSeq, out.Applied)
	}
	if p.Quarantined != nil {
		first, total := p.Quarantined(MaxPoisonedShown)
		out.PoisonedCount = total
		for _, ev := range first {
			ev.Subject = tenantless(ev.Subject)
			out.Poisoned = append(out.Poisoned, ev)
		}
		if total > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%d event(s) in the log cannot be folded here: what they concern is refused (poisoned_events)", total))
		}
	}
	out.Freshness = p.freshness()
	maxLag := p.MaxLag
	if maxLag <= 0 {
		maxLag = DefaultMaxLag
	}
	switch {
	case p.Failed != nil && p.Failed() != nil:
		out.Reason = "projections stopped: " + p.Failed().Error()
	case !out.Connected:
		out.Reason = "not connected to NATS"
	case err != nil:
		out.Reason = "event stream unreachable: " + err.Error()
	case h.Current < h.Replicas/2+1:
		// A leader that lost its followers still answers for a while, but
		// it cannot commit a write.
		out.Reason = fmt.Sprintf("the event stream has lost its quorum: %d of %d replicas current", h.Current, h.Replicas)
	case out.Freshness != nil && !out.Freshness.Authenticating:
		out.Reason = "refusing to authenticate: " + out.Freshness.Reason
	case out.LagSeconds > maxLag.Seconds():
		out.Reason = fmt.Sprintf("projections are %.1fs (%d events) behind the log", out.LagSeconds, out.LagSequences)
	default:
		out.Ready = true
	}
	return out
}

// tenantless is a subject kp.<tenant>.<type>.<id> as kp.*.<type>.*: what
// a probe anyone may call can say without naming an organization or a key.
// Subjects of no organization (kp._sys.…) keep their tenant.
func tenantless(subject string) string {
	t, typ, _, ok := eventlog.ParseSubject(subject)
	if !ok {
		return "*"
	}
	if t != domain.SystemTenant {
		t = "*"
	}
	return eventlog.SubjectOf(t, typ, "*")
}

// look returns the stream's health, asking the log at most once per TTL.
func (p *Probe) look(ctx context.Context) (eventlog.Health, error) {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = DefaultProbeTTL
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lookedAt.IsZero() && time.Since(p.lookedAt) < ttl {
		return p.health, p.err
	}
	if !p.Log.Connected() {
		// A round trip would only wait out its timeout.
		return eventlog.Health{}, errNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p.health, p.err = p.Log.Health(ctx)
	p.lookedAt = time.Now()
	return p.health, p.err
}

// lag is how far applied trails last: in events, and in seconds since the
// first event not applied was written (0 when caught up). Its time is read
// from the log once per sequence.
func (p *Probe) lag(ctx context.Context, last, applied uint64) (uint64, float64, error) {
	if applied >= last {
		return 0, 0, nil
	}
	next := applied + 1
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seqAt != next {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		t, err := p.Log.EventTime(ctx, next)
		if err != nil {
			return last - applied, 0, err
		}
		p.seqAt, p.at = next, t
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	return last - applied, max(0, now.Sub(p.at).Seconds()), nil
}

// Lag is the projections' lag for /metrics (zero when the log cannot say).
func (p *Probe) Lag() (seqs uint64, seconds float64) {
	h, err := p.look(context.Background())
	if err != nil {
		return 0, 0
	}
	seqs, seconds, _ = p.lag(context.Background(), h.LastSeq, p.Applied())
	return seqs, seconds
}

// warnings are what the replica cannot vouch for; they do not make it
// unready. An external NATS server does not tell its clients whether it
// fsyncs before acknowledging, so keyplane says that it cannot tell.
func warnings(h eventlog.Health) []string {
	var w []string
	switch {
	case !h.Embedded:
		w = append(w, "fsync: cannot confirm that the NATS servers fsync before acknowledging; "+
			"keyplane's promise that no acknowledged write is lost needs jetstream sync_interval: always on every server (README: Running a cluster)")
	case h.Fsync != "always":
		w = append(w, "fsync relaxed to "+h.Fsync+": writes acknowledged within that interval before a host crash can be lost")
	}
	if !h.Embedded && h.Replicas < 3 {
		w = append(w, fmt.Sprintf("the event stream has %d replica(s): it does not survive the loss of a NATS server (--replicas 3)", h.Replicas))
	}
	if h.Current < h.Replicas {
		w = append(w, fmt.Sprintf("only %d of the event stream's %d replicas are current", h.Current, h.Replicas))
	}
	return w
}

// opsRoutes mounts the probes and the metrics. They need no credentials:
// they say nothing about any tenant.
func (s *Server) opsRoutes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics.handler())
	}
}

// healthz is liveness: the process serves HTTP and its projections have
// not stopped for good. A log that is down does not fail it: restarting
// the replica would not bring the log back, and authentication still works.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.probe != nil && s.probe.Failed != nil {
		if err := s.probe.Failed(); err != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "reason": "projections stopped: " + err.Error()})
			return
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness to take commands: connected, the stream answering,
// the projections caught up within MaxLag.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.probe == nil {
		httpx.WriteJSON(w, http.StatusOK, Readiness{Ready: true})
		return
	}
	out := s.probe.Check(r.Context())
	status := http.StatusOK
	if !out.Ready {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	httpx.WriteJSON(w, status, out)
}
