package domain

import (
	"encoding/json"
	"fmt"
)

// MaxEventBytes bounds an event as stored: the stream refuses messages
// over 1 MiB, headers included, so an event is refused before it gets
// there, as too large, rather than failing as an unavailable log.
const MaxEventBytes = 1<<20 - 8<<10

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

// Readable reports why data, an event as stored, would not decode, or nil:
// it reads it as a replay does (Decoder: jsonReader, which hands what it
// does not take to encoding/json), then as encoding/json alone does (the
// reference, which also reads single events: DecodeEvent and Decode), and
// the payload each time.
func Readable(data []byte) error {
	var d Decoder
	ev, err := d.Event(data)
	if err == nil {
		_, err = ev.Decode()
	}
	if err != nil {
		return err
	}
	ref, err := envelopeSlow(data)
	if err != nil {
		return err
	}
	f, ok := decoders[decoderKey{ref.Type, ref.Version}]
	if !ok {
		return fmt.Errorf("unknown event %s v%d", ref.Type, ref.Version)
	}
	_, err = f(ref.Data)
	return err
}

func unstorable(e Event, err error) error {
	return &Error{Kind: KindInvalid, Op: "encode event",
		Reason: fmt.Sprintf("the change cannot be stored: its %s event would not read back from the log", e.Type), Err: err}
}
