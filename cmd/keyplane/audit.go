package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
)

const auditUsage = `usage: keyplane audit export --org ORG [--since T] [--until T] [flags] > audit.jsonl

Writes an organization's audit trail, oldest first, one JSON object per
line, straight from the log (schema: README, "Audit export").

flags:
`

func audit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage); fs.PrintDefaults() }
	var lf logFlags
	lf.register(fs)
	org := fs.String("org", "", "organization id or name (required)")
	since := fs.String("since", "", "only events at or after this RFC 3339 time")
	until := fs.String("until", "", "only events before this RFC 3339 time")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	window, err := parseWindow(*since, *until)
	if *org == "" || fs.NArg() > 0 || err != nil {
		if err != nil {
			fmt.Fprintf(stderr, "keyplane audit export: %v\n", err)
		} else {
			fmt.Fprintln(stderr, "keyplane audit export: --org is required, and nothing else")
		}
		return 2
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	log, err := lf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane audit export: %v\n", err)
		return 1
	}
	defer log.Close()
	tenant, err := resolveOrg(ctx, log, *org)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane audit export: %s\n", domain.ReasonOf(err))
		return 1
	}
	n, unreadable, err := exportAudit(ctx, log, tenant, window, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "keyplane audit export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "keyplane audit export: %d entries of organization %s\n", n, tenant)
	if len(unreadable) > 0 {
		fmt.Fprintf(stderr, "keyplane audit export: %d of them cannot be read by this keyplane (\"unreadable\": true), at sequence(s) %v\n",
			len(unreadable), unreadable)
	}
	return 0
}

// timeWindow is [since, until); zero ends are open.
type timeWindow struct{ since, until time.Time }

func (w timeWindow) holds(t time.Time) bool {
	return (w.since.IsZero() || !t.Before(w.since)) && (w.until.IsZero() || t.Before(w.until))
}

func parseWindow(since, until string) (timeWindow, error) {
	var w timeWindow
	var err error
	if since != "" {
		if w.since, err = time.Parse(time.RFC3339Nano, since); err != nil {
			return w, fmt.Errorf("--since must be an RFC 3339 time, not %q", since)
		}
	}
	if until != "" {
		if w.until, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return w, fmt.Errorf("--until must be an RFC 3339 time, not %q", until)
		}
	}
	if !w.since.IsZero() && !w.until.IsZero() && !w.since.Before(w.until) {
		return w, fmt.Errorf("--since must be before --until")
	}
	return w, nil
}

// exportSkew is how far past --until an event's stamp must be before an
// export stops reading the log. The log is in the order events were
// appended, not quite the order of their stamps: a command stamps its
// events when it decides and appends them within its deadline (15 s), and
// replicas stamp with their own clocks. An hour covers both with room to
// spare, and an export of last quarter still skips the rest of the log.
const exportSkew = time.Hour

// exportAudit writes the tenant's audited events in the window, one JSON
// object a line. It folds an audit index of the tenant on the way, which
// is how entries of a key's later events know its project. An event it
// cannot read is written marked unreadable (one that does not decode at
// all with the time the log stored it), and its sequence returned.
func exportAudit(ctx context.Context, log projections.RangeReader, tenant domain.TenantID, w timeWindow, out io.Writer) (n int, unreadable []uint64, err error) {
	bw := bufio.NewWriter(out)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	index := projections.NewAudit()
	err = log.ReadRange(ctx, eventlog.Range{Subject: eventlog.TenantSubjects(tenant)}, func(ev domain.Event) error {
		if !w.until.IsZero() && ev.Time.After(w.until.Add(exportSkew)) {
			return eventlog.ErrStop
		}
		if !projections.Audited(ev) {
			return nil
		}
		if err := index.Apply(ev); err != nil {
			return err
		}
		if !w.holds(ev.Time) {
			return nil
		}
		e, err := projections.AuditEntryOf(ev, index.ProjectOfKey)
		if err != nil {
			return err
		}
		if e.Unreadable {
			unreadable = append(unreadable, e.Seq)
		}
		n++
		return enc.Encode(e)
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, unreadable, err
}
