package api

import (
	"net/http"
	"strings"

	"github.com/keyplane/keyplane/projections"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one replica's Prometheus metrics, served at /metrics. They
// live in their own registry, not the global one, so that several apps in
// one process (tests, benchmarks) keep apart.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.CounterVec
	// auth holds one pre-resolved counter per verdict: counting a
	// verification is one atomic add, no label lookup, no allocation.
	auth      [numVerdicts]prometheus.Counter
	malformed prometheus.Counter
}

// numVerdicts bounds projections.Verdict values (Valid..Quarantined).
const numVerdicts = int(projections.Quarantined) + 1

var verdictNames = [numVerdicts]string{
	projections.Valid:       "valid",
	projections.UnknownKey:  "unknown_key",
	projections.WrongSecret: "wrong_secret",
	projections.Expired:     "expired",
	projections.Invalidated: "invalidated",
	projections.Quarantined: "quarantined",
}

// NewMetrics returns the metrics of one replica, with Go runtime and
// process metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyplane_commands_total",
		Help: "Commands (requests that change state) by command and outcome: ok, invalid, denied, not_found, conflict, unavailable, overloaded, error.",
	}, []string{"command", "outcome"})
	auth := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyplane_auth_total",
		Help: "API key authentications by verdict: valid, unknown_key, wrong_secret, expired, invalidated, quarantined, malformed.",
	}, []string{"verdict"})
	for v, name := range verdictNames {
		m.auth[v] = auth.WithLabelValues(name)
	}
	m.malformed = auth.WithLabelValues("malformed")
	m.reg.MustRegister(m.commands, auth, prometheus.NewGoCollector(),
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// CounterFunc registers a counter read from f at every scrape: how the
// app exposes counts that other packages keep (conflicts in eventlog,
// notices in the log).
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// GaugeFunc registers a gauge read from f at every scrape.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// AuthVerdict counts one API key verification. A nil Metrics counts
// nothing (a Server built without them, as in unit tests).
func (m *Metrics) AuthVerdict(v projections.Verdict) {
	if m != nil && int(v) < numVerdicts {
		m.auth[v].Inc()
	}
}

// AuthMalformed counts a credential that does not even parse.
func (m *Metrics) AuthMalformed() {
	if m != nil {
		m.malformed.Inc()
	}
}

func (m *Metrics) command(name, outcome string) {
	if m != nil {
		m.commands.WithLabelValues(name, outcome).Inc()
	}
}

// handler serves the metrics in Prometheus' text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// commandNames names the console API's commands. Other routes that change
// state are named by their pattern (e.g. "POST /_security/api_key").
var commandNames = map[string]string{
	"POST /api/v1/orgs":                                                "create_org",
	"POST /api/v1/orgs/{org}/projects":                                 "create_project",
	"POST /api/v1/orgs/{org}/members":                                  "invite_member",
	"PUT /api/v1/orgs/{org}/members/{name}":                            "change_member_role",
	"DELETE /api/v1/orgs/{org}/members/{name}":                         "remove_member",
	"POST /api/v1/orgs/{org}/members/{name}/_force_password_reset":     "force_password_reset",
	"POST /api/v1/orgs/{org}/invitations":                              "invite_member",
	"DELETE /api/v1/orgs/{org}/invitations/{id}":                       "revoke_invitation",
	"POST /api/v1/invitations/_accept":                                 "accept_invitation",
	"PUT /api/v1/users/_password":                                      "change_password",
	"PUT /api/v1/orgs/{org}/contacts":                                  "set_contacts",
	"POST /api/v1/orgs/{org}/api-keys":                                 "create_key",
	"POST /api/v1/orgs/{org}/projects/{project}/api-keys":              "create_key",
	"POST /api/v1/orgs/{org}/api-keys/_bulk_delete":                    "bulk_delete_keys",
	"POST /api/v1/orgs/{org}/projects/{project}/api-keys/_bulk_delete": "bulk_delete_keys",
	"PUT /api/v1/orgs/{org}/api-keys/{id}":                             "update_key",
	"PUT /api/v1/orgs/{org}/projects/{project}/api-keys/{id}":          "update_key",
	"DELETE /api/v1/orgs/{org}/api-keys/{id}":                          "invalidate_key",
	"DELETE /api/v1/orgs/{org}/projects/{project}/api-keys/{id}":       "invalidate_key",
	"POST /api/v1/users/auth/keys":                                     "create_key",
	"DELETE /api/v1/users/auth/keys":                                   "bulk_delete_keys",
	"DELETE /api/v1/users/auth/keys/{id}":                              "invalidate_key",
}

// commandName says whether a routed request is a command and names it.
// Commands are the requests that change state: not reads, not the
// console's session endpoints, not the probes.
func commandName(method, pattern string) (string, bool) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "", false
	}
	if strings.HasPrefix(pattern, method+" /console/") {
		return "", false
	}
	if name, ok := commandNames[pattern]; ok {
		return name, true
	}
	return pattern, true
}

// outcomeOf names the outcome of a command by its status.
func outcomeOf(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusBadRequest:
		return "invalid"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "denied"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusConflict:
		return "conflict"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "error"
}
