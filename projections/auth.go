package projections

import (
	"sync"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// authEntry is what verifying a credential needs, kept small: the index
// holds one per key ever created.
type authEntry struct {
	hash        domain.SecretHash
	expiresMs   int64 // 0: never
	invalidated bool
}

// AuthIndex verifies credentials with one map lookup and one SHA-256.
type AuthIndex struct {
	mu      sync.RWMutex
	entries map[domain.KeyID]authEntry
}

// NewAuthIndex returns an empty index.
func NewAuthIndex() *AuthIndex { return &AuthIndex{entries: map[domain.KeyID]authEntry{}} }

// Reserve makes room for n keys in an empty index (see Keys.Reserve).
func (a *AuthIndex) Reserve(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) == 0 {
		a.entries = make(map[domain.KeyID]authEntry, n)
	}
}

// Apply folds key events.
func (a *AuthIndex) Apply(ev domain.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.apply(ev)
}

// ApplyAll folds a run of events (BatchApplier).
func (a *AuthIndex) ApplyAll(evs []domain.Event) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return applyEach(evs, a.apply)
}

// apply folds one event; a.mu is held.
func (a *AuthIndex) apply(ev domain.Event) error {
	if ev.AggType != domain.AggKey {
		return nil
	}
	p, err := ev.Decode()
	if err != nil {
		return err
	}
	id := domain.KeyID(ev.AggID)
	e := a.entries[id]
	switch x := p.(type) {
	case domain.KeyCreated:
		h, err := domain.ParseSecretHash(x.Hash)
		if err != nil {
			return err
		}
		e = authEntry{hash: h}
		if x.Expires != nil {
			e.expiresMs = x.Expires.UnixMilli()
		}
	case domain.KeyUpdated:
		if x.Expires != nil {
			e.expiresMs = x.Expires.UnixMilli()
		} else if x.NeverExpires {
			e.expiresMs = 0
		}
	case domain.KeyInvalidated:
		e.invalidated = true
	default:
		return nil
	}
	a.entries[id] = e
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
)

// Verify checks id and secret at now. It does not allocate.
func (a *AuthIndex) Verify(id, secret []byte, now time.Time) Verdict {
	a.mu.RLock()
	e, ok := a.entries[domain.KeyID(id)]
	a.mu.RUnlock()
	if !ok {
		// Hash anyway so that unknown ids and wrong secrets take the same time.
		_ = domain.HashSecret(secret)
		return UnknownKey
	}
	if !domain.HashSecret(secret).Equal(e.hash) {
		return WrongSecret
	}
	if e.invalidated {
		return Invalidated
	}
	if e.expiresMs != 0 && now.UnixMilli() >= e.expiresMs {
		return Expired
	}
	return Valid
}

// Len is the number of keys indexed.
func (a *AuthIndex) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.entries)
}
