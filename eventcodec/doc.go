// Package eventcodec reads and writes events as the log stores them, fast.
//
// Replaying the log is mostly decoding it, so the envelope and the payloads
// that make up most of a log (a key's creation, updates and revocation) are
// read by a reader built for the JSON keyplane writes (jsonread.go), without
// reflection, sharing the strings and metadata that recur from one event to
// the next (Decoder).
//
// Invariants:
//   - encoding/json is the reference (domain.Event and its Decode): the fast
//     reader takes only the shapes keyplane writes and hands anything else
//     to encoding/json, so an event always decodes to exactly what
//     encoding/json makes of it (FuzzDecodeEvent);
//   - nothing enters the log that its readers cannot read back
//     (EncodeEvent, FuzzEventRoundTrip);
//   - it imports domain and the standard library only; domain does not
//     import it.
package eventcodec
