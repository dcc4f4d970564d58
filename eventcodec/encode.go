package eventcodec

import "github.com/keyplane/keyplane/domain"

// EncodeEvent is e as the log stores it (domain.MarshalEvent), and refuses
// to give it unless keyplane's readers read it back (Readable). The log
// keeps every event forever and every replica folds every one, so an event
// no reader can decode would stop them all at it; refusing it here, at the
// one place events are written (eventlog's Append), turns that into a 400
// for the one request that asked for it.
func EncodeEvent(e domain.Event) ([]byte, error) {
	data, err := domain.MarshalEvent(e)
	if err != nil {
		return nil, err
	}
	if err := Readable(data); err != nil {
		return nil, domain.Unstorable(e, err)
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
