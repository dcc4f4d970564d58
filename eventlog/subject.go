package eventlog

import (
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// The subject layout (see doc.go) is known here only: an aggregate's events
// live on kp.<tenant>.<aggregate-type>.<aggregate-id>.

// Subject is where ev's aggregate lives in the log.
func Subject(ev domain.Event) string { return SubjectOf(ev.Tenant, ev.AggType, ev.AggID) }

// SubjectOf names the subject of aggregate (t, aggType, id).
func SubjectOf(t domain.TenantID, aggType, id string) string {
	return "kp." + string(t) + "." + aggType + "." + id
}

// ParseSubject splits an aggregate's subject into its parts; ok is false
// for a subject of another shape. The id is the rest of the subject, dots
// included.
func ParseSubject(subject string) (t domain.TenantID, aggType, id string, ok bool) {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) != 4 || parts[0] != "kp" {
		return "", "", "", false
	}
	return domain.TenantID(parts[1]), parts[2], parts[3], true
}
