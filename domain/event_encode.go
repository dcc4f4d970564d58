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

// MarshalEvent is e as the log stores it, refused when its payload did not
// encode (NewEvent) or when it is over MaxEventBytes. Writers use
// eventcodec.EncodeEvent, which also refuses what the log's readers would
// not read back.
func MarshalEvent(e Event) ([]byte, error) {
	if e.unencodable != nil {
		return nil, Unstorable(e, e.unencodable)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, Unstorable(e, err)
	}
	if len(data) > MaxEventBytes {
		return nil, &Error{Kind: KindTooLarge, Reason: fmt.Sprintf(
			"the change is too large to store: its %s event would be %d bytes, over the limit of %d", e.Type, len(data), MaxEventBytes)}
	}
	return data, nil
}

// Unstorable is the error of an event refused because it would not read
// back from the log: the request's content caused it, so it is invalid.
func Unstorable(e Event, err error) error {
	return &Error{Kind: KindInvalid, Op: "encode event",
		Reason: fmt.Sprintf("the change cannot be stored: its %s event would not read back from the log", e.Type), Err: err}
}
