package commands

import (
	"context"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/eventlog"
)

// Deps are what every command runs on: the log, the projections it reads
// its own writes from, the clock and the source of fresh ids and secrets.
// They are set once, by the constructors.
type Deps struct {
	Store eventlog.Store
	// Wait is the local projections: a command answers once they hold its
	// events.
	Wait eventlog.Waiter
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Source draws ids and secrets; nil is Random.
	Source Source
}

// core is Deps with their defaults, shared by the command types.
type core struct {
	store eventlog.Store
	wait  eventlog.Waiter
	now   func() time.Time
	ids   Source
}

func newCore(d Deps) core {
	c := core{store: d.Store, wait: d.Wait, now: d.Now, ids: d.Source}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ids == nil {
		c.ids = Random{}
	}
	return c
}

// event is p as the next event of an aggregate, under a fresh event id.
func (c *core) event(at where, m domain.Meta, p domain.Payload) eventlog.Append {
	return eventlog.Append{Event: domain.NewEvent(c.ids.EventID(), at.tenant, at.typ, at.id, m, p), Expect: at.seq}
}

// where is an aggregate's subject and the sequence its next event expects
// (0: the subject must be empty).
type where struct {
	tenant domain.TenantID
	typ    string
	id     string
	seq    uint64
}

// decision is what a command decides on an aggregate's state: its event
// (nil: nothing to do) and events of other aggregates that go with it
// atomically.
type decision struct {
	event domain.Payload
	// id is the event's id when it is derived from what it records (a
	// retry then finds it stored); empty draws a fresh one.
	id string
	// before go ahead of the event in the same append: a fold one event at
	// a time shows them by the time it shows the event (a retry that sees
	// a key rotated finds its successor and the rotation's claim).
	before []eventlog.Append
	more   []eventlog.Append
}

// change is the one command path: load the aggregate's state from the
// projections (never from the stream), decide, append with the expected
// sequence, and on a conflict catch up and do it all again; it returns once
// the projections hold the events. load calls use with the state (inside
// whatever lock guards it) or returns why there is none; m.Time is the
// clock's time of each attempt.
func change[S any](ctx context.Context, c *core, m domain.Meta,
	load func(use func(S, where)) error,
	decide func(s S, m domain.Meta) (decision, error)) error {
	_, err := c.store.Execute(ctx, c.wait, func() ([]eventlog.Append, error) {
		m.Time = c.now()
		var apps []eventlog.Append
		var derr error
		err := load(func(s S, at where) {
			var d decision
			if d, derr = decide(s, m); derr != nil || d.event == nil {
				return
			}
			a := c.event(at, m, d.event)
			if d.id != "" {
				a.Event.ID = d.id
			}
			apps = append(append(d.before, a), d.more...)
		})
		if err != nil {
			return nil, err
		}
		return apps, derr
	})
	return err
}

// create appends the first event of a subject (create-if-absent) and waits
// for the projections; a conflict says the subject is taken.
func (c *core) create(ctx context.Context, at where, m domain.Meta, p domain.Payload) (eventlog.Append, []uint64, error) {
	at.seq = 0
	a := c.event(at, m, p)
	seqs, err := c.store.Commit(ctx, c.wait, a)
	return a, seqs, err
}
