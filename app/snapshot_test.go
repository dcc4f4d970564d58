package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/internal/testlog"
	"github.com/keyplane/keyplane/internal/testwait"
	"github.com/keyplane/keyplane/projections"
)

// history writes some of everything and returns a live key's credential and
// a revoked one's.
func history(t *testing.T, a *App) (live, revoked string) {
	t.Helper()
	alice := a.as(t, basic(ownerAuth))
	alice.do("POST", "/api/v1/orgs/default/projects", map[string]any{"name": "web"}).must(t, 201)
	_, live = alice.createKey("/api/v1/orgs/default/projects/web/api-keys", map[string]any{"name": "live"})
	id, revoked := alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "revoked"})
	alice.do("DELETE", "/api/v1/orgs/default/api-keys/"+id, nil).must(t, 200)
	alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "idem"}, "Idempotency-Key", "once").must(t, 201)
	return live, revoked
}

// withLog opens the (stopped) app's log directly.
func withLog(t *testing.T, dir string, fn func(context.Context, *eventlog.Log)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fn(ctx, l)
}

// mustMatchRebuild checks the app's projections against a full replay of
// the log up to the same sequence, and returns their digests.
func mustMatchRebuild(t *testing.T, a *App) map[string]string {
	t.Helper()
	seq, live, err := a.Runner.Digests()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Rebuild(ctx, Config{}, a.Log, seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	rseq, rebuilt, err := r.Digests()
	if err != nil {
		t.Fatal(err)
	}
	if rseq != seq || !reflect.DeepEqual(rebuilt, live) {
		t.Fatalf("the projections differ from a replay:\nlive at %d: %v\nrebuilt at %d: %v", seq, live, rseq, rebuilt)
	}
	return live
}

func TestARestartResumesFromTheSnapshotAtItsSequence(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	live, revoked := history(t, a)
	saved := a.Runner.Applied()
	a.Close()

	b := startApp(t, dir, nil)
	if got := b.ResumedFrom(); got != saved {
		t.Fatalf("resumed from %d, want the sequence applied at shutdown, %d", got, saved)
	}
	b.as(t, apiKey(live)).do("GET", "/api/v1/whoami", nil).must(t, 200)
	b.as(t, apiKey(revoked)).do("GET", "/api/v1/whoami", nil).must(t, 401)
	// The tail after the snapshot is folded too, and a retried create is
	// still recognized from the restored claims.
	alice := b.as(t, basic(ownerAuth))
	alice.createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "after-restart"})
	again := alice.do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "idem"}, "Idempotency-Key", "once").must(t, 201)
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the Idempotency-Key claim was lost in the snapshot")
	}
	mustMatchRebuild(t, b)
}

func TestAPeriodicSnapshotCoversWhatWasApplied(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Start(ctx, Config{DataDir: dir, Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, SnapshotEvery: 3,
		SnapshotInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	history(t, a)
	// Wait (poll) for the saver to catch up with what was applied.
	if !testwait.Until(20*time.Second, func() bool { return a.snap.saved.Load() == a.Runner.Applied() }) {
		t.Fatalf("no snapshot of sequence %d, last one at %d", a.Runner.Applied(), a.snap.saved.Load())
	}
	b, err := a.Log.GetSnapshot(ctx, snapshotName)
	if err != nil {
		t.Fatal(err)
	}
	s, err := projections.DecodeSavedState(b)
	if err != nil || s.Seq != a.Runner.Applied() {
		t.Fatalf("stored snapshot at %d (%v), want %d", s.Seq, err, a.Runner.Applied())
	}
}

func TestAnUnusableSnapshotIsIgnoredAndTheLogReplayed(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(good []byte) []byte
		resumes bool
	}{
		{"garbage", func([]byte) []byte { return []byte("not a snapshot at all, but long enough to look like one.......") }, false},
		{"a flipped bit", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, false},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, false},
		{"another projection version", func(b []byte) []byte {
			b[len("KPSNAP\x00")] = projections.ProjectionVersion + 1
			return resummed(b)
		}, false},
		{"taken from another log", func(b []byte) []byte {
			s, _ := projections.DecodeSavedState(b)
			s.EventID = "some-other-event"
			return s.Encode()
		}, false},
		{"one projection of an older version", func(b []byte) []byte {
			s, _ := projections.DecodeSavedState(b)
			s.Parts["keys@3"] = s.Parts["keys@5"]
			delete(s.Parts, "keys@5")
			return s.Encode()
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := startApp(t, dir, nil)
			live, revoked := history(t, a)
			a.Close()
			withLog(t, dir, func(ctx context.Context, l *eventlog.Log) {
				good, err := l.GetSnapshot(ctx, snapshotName)
				if err != nil || good == nil {
					t.Fatalf("no snapshot after a graceful stop: %v", err)
				}
				if err := l.PutSnapshot(ctx, snapshotName, tt.tamper(good)); err != nil {
					t.Fatal(err)
				}
			})
			b := startApp(t, dir, nil)
			if resumed := b.ResumedFrom() != 0; resumed != tt.resumes {
				t.Fatalf("resumed from %d, want resumed=%v", b.ResumedFrom(), tt.resumes)
			}
			b.as(t, apiKey(live)).do("GET", "/api/v1/whoami", nil).must(t, 200)
			b.as(t, apiKey(revoked)).do("GET", "/api/v1/whoami", nil).must(t, 401)
			mustMatchRebuild(t, b)
		})
	}
}

// resummed recomputes the checksum of a snapshot edited on purpose.
func resummed(b []byte) []byte {
	body := b[:len(b)-sha256.Size]
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}

// A stop while the log is unreachable skips the last snapshot instead of
// waiting minutes for it: whatever stops keyplane (systemd, Kubernetes)
// would kill it long before. The next start replays from the last snapshot.
func TestCloseWithTheLogDownDoesNotWaitForTheSnapshot(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	a.as(t, basic(ownerAuth)).createKey("/api/v1/orgs/default/api-keys", map[string]any{"name": "unsaved"})
	a.Log.Server().Shutdown()
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	// The bound is far above a healthy stop and far below the two minutes
	// the snapshot's own timeout allows: it catches a hang, not a speed.
	select {
	case <-closed:
	case <-time.After(45 * time.Second):
		t.Fatal("Close still waiting 45 s after the log went down")
	}
}

// A start more than bulkFoldMin events behind the log folds them as a
// replay does (foldInBulk: decoded ahead, folded in runs), then follows the
// log event by event. What it holds must equal folding the same events one
// by one, and it must go on following.
func TestAStartFarBehindTheLogFoldsItInBulkThenFollows(t *testing.T) {
	dir := t.TempDir()
	l := openBenchLog(t, dir)
	fillLog(t, l, bulkFoldMin+2_000, keyHistory)
	l.Close()
	var logs testlog.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	a, err := Start(ctx, Config{DataDir: dir, Addr: "127.0.0.1:0", BootstrapOwner: ownerAuth, NeverAllowed: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Out: io.Discard})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if !strings.Contains(logs.String(), fmt.Sprintf("in_bulk=%d ", bulkFoldMin+2_000)) {
		t.Fatalf("the start did not fold the log in bulk:\n%s", logs.String())
	}
	seq, bulk, err := a.Runner.Digests()
	if err != nil {
		t.Fatal(err)
	}
	if seq < bulkFoldMin+2_000 {
		t.Fatalf("started at sequence %d", seq)
	}
	one := offline(Config{}, a.Log)
	if err := a.Log.ReadRange(t.Context(), eventlog.Range{To: seq}, one.Runner.Apply); err != nil {
		t.Fatal(err)
	}
	_, byOne, err := one.Runner.Digests()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bulk, byOne) {
		t.Fatalf("a bulk start differs from folding one by one:\n%v\n%v", bulk, byOne)
	}
	history(t, a)
	if a.Runner.Applied() <= seq {
		t.Fatalf("nothing applied after the start (at %d)", seq)
	}
	mustMatchRebuild(t, a)
}

// A restart restores from the data dir's copy of the snapshot while the
// log opens, unless the copy is damaged, missing or not the snapshot
// stored (another was stored since): then from the store, as before.
func TestARestartRestoresFromTheLocalCopyOnlyWhileItIsIntactAndCurrent(t *testing.T) {
	copyPath := func(dir string) string { return filepath.Join(dir, "snapshots", snapshotName) }
	edit := func(f func([]byte) []byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			b, err := os.ReadFile(copyPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copyPath(dir), f(b), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		do    func(*testing.T, string)
		local bool
	}{
		{"as saved", func(*testing.T, string) {}, true},
		{"a flipped bit", edit(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), false},
		{"truncated", edit(func(b []byte) []byte { return b[:len(b)-100] }), false},
		{"no header", edit(func(b []byte) []byte { return b[3:] }), false},
		{"missing", func(t *testing.T, dir string) {
			if err := os.Remove(copyPath(dir)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"another snapshot stored since", func(t *testing.T, dir string) {
			withLog(t, dir, func(ctx context.Context, l *eventlog.Log) {
				good, err := l.GetSnapshot(ctx, snapshotName)
				if err != nil {
					t.Fatal(err)
				}
				// As a replica on this server stores one: not through
				// this log, which would copy it.
				obs, err := l.JetStream().ObjectStore(ctx, "KEYPLANE_SNAPSHOTS")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := obs.PutBytes(ctx, snapshotName, good); err != nil {
					t.Fatal(err)
				}
			})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := startApp(t, dir, nil)
			live, revoked := history(t, a)
			saved := a.Runner.Applied()
			a.Close()
			tt.do(t, dir)
			// No usage noted: Close then saves no snapshot (nothing new).
			noUsage := func(c *Config) { c.UsageFlush = -1 }
			b := startApp(t, dir, nil, noUsage)
			if b.ResumedFrom() != saved || b.snap.local != tt.local {
				t.Fatalf("resumed from %d (local copy: %v), want %d (local copy: %v)", b.ResumedFrom(), b.snap.local, saved, tt.local)
			}
			b.as(t, apiKey(live)).do("GET", "/api/v1/whoami", nil).must(t, 200)
			b.as(t, apiKey(revoked)).do("GET", "/api/v1/whoami", nil).must(t, 401)
			mustMatchRebuild(t, b)
			b.Close()
			// The store's snapshot read, it is copied for the next start.
			if c := startApp(t, dir, nil, noUsage); !c.snap.local || c.ResumedFrom() != saved {
				t.Fatal("the next start did not restore from a copy")
			}
		})
	}
}

// A restore keeps nothing of the snapshot's bytes (a start maps the local
// copy and then drops its pages, eventlog.ReadLocalSnapshot): projections
// restored from bytes overwritten afterwards hold what those restored
// from an untouched copy hold.
func TestARestoreKeepsNothingOfTheSnapshotsBytes(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	history(t, a)
	a.as(t, basic(ownerAuth)).do("POST", "/api/v1/orgs/default/api-keys", map[string]any{"name": "meta",
		"metadata": map[string]any{"team": "sre", "tier": 2, "tags": []any{"a", "b"}}}).must(t, 201)
	a.as(t, basic(ownerAuth)).do("POST", "/_security/api_key", map[string]any{"name": "es",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []any{"monitor"}}},
		"metadata":         map[string]any{"team": "search"}}).must(t, 200)
	a.Close()
	withLog(t, dir, func(ctx context.Context, l *eventlog.Log) {
		b, err := l.GetSnapshot(ctx, snapshotName)
		if err != nil || b == nil {
			t.Fatalf("no snapshot: %v", err)
		}
		digests := func(b []byte, scribble bool) map[string]string {
			s, err := projections.DecodeSavedState(b)
			if err != nil {
				t.Fatal(err)
			}
			x := offline(Config{}, l)
			if _, err := x.Runner.Resume(s); err != nil {
				t.Fatal(err)
			}
			if scribble {
				for i := range b {
					b[i] = 'x'
				}
			}
			_, d, err := x.Runner.Digests()
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		want := digests(slices.Clone(b), false)
		if got := digests(b, true); !reflect.DeepEqual(got, want) {
			t.Fatalf("restored projections changed with the bytes they were restored from:\n%v\nwant\n%v", got, want)
		}
	})
}
