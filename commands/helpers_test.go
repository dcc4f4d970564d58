package commands_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
	"github.com/keyplane/keyplane/projections"
	"github.com/keyplane/keyplane/tenants"
)

// world is the command layer on the real embedded log, with the
// projections it reads folded by a running projections.Runner.
type world struct {
	log     *eventlog.Log
	runner  *projections.Runner
	keys    *projections.Keys
	claims  *projections.Claims
	notices *projections.Notices
	dir     *tenants.Directory
	realms  *tenants.Realms
	ids     *countingSource
}

var testNow = time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := eventlog.Open(ctx, eventlog.Options{DataDir: t.TempDir(), FsyncInterval: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{log: l, keys: projections.NewKeys(), claims: projections.NewClaims(), notices: projections.NewNotices(),
		dir: tenants.NewDirectory(), realms: tenants.NewRealms(), ids: &countingSource{}}
	w.runner = projections.NewRunner(w.dir, w.keys, w.claims, w.notices, w.realms)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = w.runner.Run(ctx, l)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		l.Close()
	})
	return w
}

// deps are the command layer's dependencies, with a clock standing at
// testNow and ids counted from 1.
func (w *world) deps() commands.Deps {
	return commands.Deps{Store: w.log, Wait: w.runner, Now: func() time.Time { return testNow }, Source: w.ids}
}

func (w *world) keyCommands() *commands.Keys {
	return commands.NewKeys(w.deps(), commands.KeysConfig{Keys: w.keys, Claims: w.claims, SecretKey: []byte("test-secret-key")})
}

// lastSeq is the log's last sequence.
func (w *world) lastSeq(t *testing.T) uint64 {
	t.Helper()
	seq, err := w.log.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// countingSource is a Source whose ids are predictable: a kind and a
// count.
type countingSource struct{ n atomic.Int64 }

func (s *countingSource) next(kind string) string { return fmt.Sprintf("%s-%06d", kind, s.n.Add(1)) }

func (s *countingSource) EventID() string             { return s.next("event") }
func (s *countingSource) TenantID() domain.TenantID   { return domain.TenantID(s.next("org")) }
func (s *countingSource) ProjectID() domain.ProjectID { return domain.ProjectID(s.next("project")) }
func (s *countingSource) KeyID() domain.KeyID         { return domain.KeyID(s.next("key-abcdefgh")) }
func (s *countingSource) Secret() domain.Secret       { return domain.Secret(s.next("secret-abcdefgh")) }
func (s *countingSource) Token() string               { return "kpinv_" + s.next("token") }

var owner = domain.Principal{Kind: domain.ActorUser, User: "alice"}

func meta() domain.Meta { return domain.Meta{Actor: owner.Actor(), CorrelationID: "test"} }

// anOrg creates an organization owned by alice and returns alice as its
// owner.
func (w *world) anOrg(t *testing.T) (*domain.Org, domain.Principal) {
	t.Helper()
	ts := commands.NewTenants(w.deps(), w.dir, tenants.HashPassword)
	o, err := ts.CreateOrg(context.Background(), owner, meta(), fmt.Sprintf("org-%d", w.ids.n.Load()))
	if err != nil {
		t.Fatal(err)
	}
	p := owner
	p.Memberships = map[domain.TenantID]domain.Role{o.ID: domain.RoleOwner}
	return o, p
}
