package domain

import (
	"encoding/json"
	"fmt"
)

// MaxEventBytes bounds an event as stored: the stream refuses messages
// over 1 MiB, headers (a few hundred bytes) included, so an event is
// refused before it gets there, as too large, rather than failing as an
// unavailable log (503).
const MaxEventBytes = 1<<20 - 1<<10

// EncodeEvent is e as the log stores it, and refuses to give it unless
// keyplane's readers read it back (Readable). The log keeps every event
// forever and every replica folds every one, so an event no reader can
// decode would stop them all at it; refusing it here, at the one place
// events are written (eventlog's Append), turns that into a 400 for the
// one request that asked for it.
func EncodeEvent(e Event) ([]byte, error) {
	if e.unencodable != nil {
		return nil, unstorable(e, e.unencodable)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, unstorable(e, err)
	}
	if len(data) > MaxEventBytes {
		return nil, &Error{Kind: KindTooLarge, Reason: fmt.Sprintf(
			"the change is too large to store: its %s event would be %d bytes, over the limit of %d", e.Type, len(data), MaxEventBytes)}
	}
	if err := Readable(data); err != nil {
		return nil, unstorable(e, err)
	}
	return data, nil
}

// Readable reports why data, an event as stored, would not decode, or nil.
// It reads data as every reader of the log does, a replay's or a single
// event's (Decoder, DecodeEvent): with jsonReader, which hands whatever it
// does not take (a shape it does not know, nesting past its own bound) to
// encoding/json, the reference; the payload too. What jsonReader reads,
// encoding/json reads the same (FuzzDecodeEvent, FuzzEventRoundTrip).
func Readable(data []byte) error {
	ev, err := DecodeEvent(data)
	if err == nil {
		_, err = ev.Decode()
	}
	return err
}

func unstorable(e Event, err error) error {
	return &Error{Kind: KindInvalid, Op: "encode event",
		Reason: fmt.Sprintf("the change cannot be stored: its %s event would not read back from the log", e.Type), Err: err}
}
