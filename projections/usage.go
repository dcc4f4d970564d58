package projections

import (
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// Usage is what this replica saw of key use since it last wrote it down:
// for each key (by its slot in the KeyTable), the second of its latest
// successful authentication. It is not a fold of the log and not in
// snapshots; the log's usage records (domain.KeyUsed) are, in Keys.
//
// Noting a use is on every key-authenticated request, so it takes no lock
// and does not allocate: one atomic load, and a store at most once a
// second per key. The uses are read by a scan of every slot (Pending), a
// few milliseconds per million keys once a flush interval, which costs
// the authentication path nothing, where a queue of used keys would.
type Usage struct {
	table  *KeyTable
	chunks [usageChunks]atomic.Pointer[usageChunk]
	// written is, by slot, the hour (unix seconds) of the last use handed
	// out by Pending and confirmed by Written: only the flusher's
	// goroutine touches it.
	written []int64
}

const (
	usageChunkBits = 12
	usageChunkSize = 1 << usageChunkBits
	// usageChunks bounds the keys tracked to 16.7 million slots; a key
	// past them is not noted (its use is never recorded), rather than the
	// authentication path growing a table under a lock.
	usageChunks = 1 << 12
)

type usageChunk [usageChunkSize]atomic.Int64

// NewUsage notes the use of the keys of table t (the AuthIndex's).
func NewUsage(t *KeyTable) *Usage { return &Usage{table: t} }

// Note records that the key in slot authenticated a request at now.
func (u *Usage) Note(slot uint32, now time.Time) {
	ci := slot >> usageChunkBits
	if ci >= usageChunks {
		return
	}
	c := u.chunks[ci].Load()
	if c == nil {
		c = u.grow(ci)
	}
	s := &c[slot&(usageChunkSize-1)]
	if sec := now.Unix(); s.Load() < sec {
		s.Store(sec)
	}
}

// grow makes chunk ci once: racing noters agree on one by CompareAndSwap.
// It allocates once per 4,096 keys, not per request.
func (u *Usage) grow(ci uint32) *usageChunk {
	u.chunks[ci].CompareAndSwap(nil, new(usageChunk))
	return u.chunks[ci].Load()
}

// Use is one key's latest use that the log may not know of yet.
type Use struct {
	Slot uint32
	Key  domain.KeyID
	At   time.Time
}

// Pending lists the keys used in a later hour than the last use of theirs
// that Written confirmed. Only one goroutine may call Pending and Written
// (the flusher).
func (u *Usage) Pending() []Use {
	var out []Use
	for ci := range uint32(usageChunks) {
		c := u.chunks[ci].Load()
		if c == nil {
			continue
		}
		for i := range c {
			sec := c[i].Load()
			if sec == 0 {
				continue
			}
			slot := ci<<usageChunkBits | uint32(i)
			if hour := hourOf(sec); int(slot) >= len(u.written) || hour > u.written[slot] {
				out = append(out, Use{Slot: slot, At: time.Unix(sec, 0).UTC()})
			}
		}
	}
	u.table.mu.RLock()
	for i := range out {
		out[i].Key = u.table.ids[out[i].Slot]
	}
	u.table.mu.RUnlock()
	return out
}

// Written confirms that the log holds use (or a later one) of its key:
// Pending leaves the key out until it is used in a later hour.
func (u *Usage) Written(use Use) {
	for len(u.written) <= int(use.Slot) {
		u.written = append(u.written, 0)
	}
	u.written[use.Slot] = max(u.written[use.Slot], hourOf(use.At.Unix()))
}

func hourOf(sec int64) int64 { return sec - sec%int64(domain.UsageGranularity/time.Second) }
