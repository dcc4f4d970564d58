package projections

import (
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// authEntry is what verifying a credential needs, kept small: the index
// holds one per key ever created, 40 bytes.
type authEntry struct {
	hash domain.SecretHash
	// state is the expiry in Unix milliseconds (0: never) shifted left by
	// two, below it whether the key was invalidated and whether the slot
	// holds a key at all: two bools beside the expiry took 8 bytes more.
	state int64
}

const (
	authKnown       = 1 << iota // a key is in this slot
	authInvalidated             // it was invalidated
	authFlagBits    = 2
)

func (e authEntry) known() bool       { return e.state&authKnown != 0 }
func (e authEntry) invalidated() bool { return e.state&authInvalidated != 0 }
func (e authEntry) expiresMs() int64  { return e.state >> authFlagBits }

// setExpiresMs sets the expiry, keeping the flags.
func (e *authEntry) setExpiresMs(ms int64) {
	e.state = ms<<authFlagBits | e.state&(1<<authFlagBits-1)
}

// AuthIndex verifies credentials with one lookup in its key table and one
// SHA-256. The table's lock guards the index too: a verification, on
// every request, takes one read lock, not one for the table and one for
// the index (two cores verifying at once spent a quarter more time per
// verification with two).
type AuthIndex struct {
	table *KeyTable
	// entries are by slot (KeyTable).
	entries []authEntry
	count   int
	// usage, when set, notes every successful verification (NoteUsage).
	usage atomic.Pointer[Usage]
}

// NoteUsage makes every successful verification note its key's use in u
// from now on; nil stops it. u must number keys by this index's table.
func (a *AuthIndex) NoteUsage(u *Usage) { a.usage.Store(u) }

// Table is the key table the index numbers keys by (NewUsage).
func (a *AuthIndex) Table() *KeyTable { return a.table }

// NewAuthIndex returns an empty index with a key table of its own.
func NewAuthIndex() *AuthIndex { return NewAuthIndexIn(NewKeyTable()) }

// NewAuthIndexIn returns an empty index numbering keys in table t, which
// it may share with other projections.
func NewAuthIndexIn(t *KeyTable) *AuthIndex { return &AuthIndex{table: t} }

// Reserve makes room for n keys in an empty index (see Keys.Reserve).
func (a *AuthIndex) Reserve(n int) {
	a.table.Reserve(n)
	a.table.mu.Lock()
	defer a.table.mu.Unlock()
	if len(a.entries) == 0 {
		a.entries = make([]authEntry, 0, n)
	}
}

// Apply folds key events.
func (a *AuthIndex) Apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	a.table.mu.Lock()
	defer a.table.mu.Unlock()
	return a.apply(ev)
}

// ApplyAll folds a run of events (BatchApplier).
func (a *AuthIndex) ApplyAll(evs []domain.Event) (int, error) {
	a.table.mu.Lock()
	defer a.table.mu.Unlock()
	return applyEach(evs, a.apply)
}

// apply folds one event; a.table.mu is held.
func (a *AuthIndex) apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	slot := a.table.assignLocked(domain.KeyID(ev.AggID))
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	e := at(a.entries, slot)
	known := e.known()
	switch x := p.(type) {
	case domain.KeyCreated:
		h, err := domain.ParseSecretHash(x.Hash)
		if err != nil {
			return err
		}
		e = authEntry{hash: h}
		if x.Expires != nil {
			e.setExpiresMs(x.Expires.UnixMilli())
		}
	case domain.KeyUpdated:
		if x.Expires != nil {
			e.setExpiresMs(x.Expires.UnixMilli())
		} else if x.NeverExpires {
			e.setExpiresMs(0)
		}
	case domain.KeyRotated:
		e.setExpiresMs(x.Expires.UnixMilli())
	case domain.KeyInvalidated:
		e.state |= authInvalidated
	default:
		return nil
	}
	e.state |= authKnown
	a.entries = put(a.entries, slot, e)
	if !known {
		a.count++
	}
	return nil
}

// Verdict is the outcome of a verification.
type Verdict uint8

const (
	Valid Verdict = iota
	UnknownKey
	WrongSecret
	Expired
	Invalidated
	// Quarantined: an event about the key could not be folded here
	// (Quarantine), so what the index holds of it may be stale.
	Quarantined
)

// Verify checks id and secret at now. It does not allocate.
func (a *AuthIndex) Verify(id, secret []byte, now time.Time) Verdict {
	a.table.mu.RLock()
	var e authEntry
	slot, ok := a.table.slotOfBytes(id)
	if ok {
		e = at(a.entries, slot)
	}
	a.table.mu.RUnlock()
	if !e.known() {
		// Hash anyway so that unknown ids and wrong secrets take the same time.
		_ = domain.HashSecret(secret)
		return UnknownKey
	}
	if !domain.HashSecret(secret).Equal(e.hash) {
		return WrongSecret
	}
	if a.table.quarantine.RefusesKeyID(id) {
		return Quarantined
	}
	if e.invalidated() {
		return Invalidated
	}
	if exp := e.expiresMs(); exp != 0 && now.UnixMilli() >= exp {
		return Expired
	}
	if u := a.usage.Load(); u != nil {
		u.Note(slot, now) // after the lock: noting takes none
	}
	return Valid
}

// Len is the number of keys indexed.
func (a *AuthIndex) Len() int {
	a.table.mu.RLock()
	defer a.table.mu.RUnlock()
	return a.count
}
