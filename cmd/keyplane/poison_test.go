package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testproc"
)

// TestReplayAndAuditExportCarryOnPastAnEventTheyCannotRead: an event on a
// key's subject that does not decode (written past keyplane) is reported
// by sequence and subject, never by content, and replay, as-of and the
// export read the rest of the log.
func TestReplayAndAuditExportCarryOnPastAnEventTheyCannotRead(t *testing.T) {
	natsAddr := rpNatsAddr(t)
	dir := t.TempDir()
	a := rpStart(t, dir, natsAddr)
	base := "/api/v1/orgs/default/api-keys"
	k := rpDo(t, a, "POST", base, map[string]any{"name": "poisoned"}, 201)
	org := rpDo(t, a, "GET", "/api/v1/orgs/default", nil, 200)["id"].(string)
	subject := "kp." + org + ".key." + k["id"].(string)
	seq := testproc.PublishUndecodable(t, "nats://"+natsAddr, subject, "KeyUpdated", 2)
	later := rpDo(t, a, "POST", base, map[string]any{"name": "later"}, 201)
	rpDo(t, a, "DELETE", base+"/"+later["id"].(string), nil, 200)
	a.Close()

	reported := "sequence " + strconv.FormatUint(seq, 10) + " on " + subject
	code, out, errs := run("replay", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(errs, reported) {
		t.Fatalf("replay: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run("replay", "--data-dir", dir, "--as-of", strconv.FormatUint(seq+3, 10))
	if code != 0 || !strings.Contains(errs, reported) || strings.Contains(out, "poisoned") || !strings.Contains(out, "invalidated") {
		t.Fatalf("replay --as-of: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run("audit", "export", "--data-dir", dir, "--org", "default")
	if code != 0 || !strings.Contains(out, `"unreadable":true`) || !strings.Contains(errs, "at sequence(s) ["+strconv.FormatUint(seq, 10)+"]") ||
		!strings.Contains(out, `"type":"KeyInvalidated"`) {
		t.Fatalf("audit export: exit %d\n%s\n%s", code, out, errs)
	}
	for _, s := range []string{out, errs} {
		if strings.Contains(s, "nested") {
			t.Fatalf("the event's content is repeated: %s", s)
		}
	}
}
