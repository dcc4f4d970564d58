package projections

import (
	"crypto/sha256"
	"encoding/hex"
)

// Digester is a projection that can summarize its state: equal state,
// equal digest, however it was reached (folded from the log, or restored
// from a snapshot and folded from there). Replay compares digests to prove
// a live server's projections are what the log says.
type Digester interface {
	Name() string
	Digest() (string, error)
}

// DigestOf is the digest of a projection: its own if it is a Digester, the
// SHA-256 of its canonical snapshot if it is a Snapshotter.
func DigestOf(a Applier) (name, digest string, ok bool, err error) {
	switch p := a.(type) {
	case Digester:
		d, err := p.Digest()
		return p.Name(), d, true, err
	case Snapshotter:
		b, err := p.Snapshot()
		if err != nil {
			return p.Name(), "", true, err
		}
		sum := sha256.Sum256(b)
		return p.Name(), hex.EncodeToString(sum[:]), true, nil
	}
	return "", "", false, nil
}

// Digests are the digests of every projection that has one, by name, at
// the sequence they cover, taken between two events. The runner waits
// meanwhile: at a million keys that is about a second.
func (r *Runner) Digests() (seq uint64, digests map[string]string, err error) {
	err = r.Pause(func(applied uint64) error {
		seq, digests, err = applied, map[string]string{}, nil
		for _, a := range r.appliers {
			name, d, ok, err := DigestOf(a)
			if err != nil {
				return err
			}
			if ok {
				digests[name] = d
			}
		}
		return nil
	})
	return seq, digests, err
}
