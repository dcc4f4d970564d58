// Package domain holds keyplane's model: the events that make up the log, the
// commands users send, the key, organization and user aggregates, the pure
// decisions that turn (state, command, clock) into events or a typed error,
// role descriptors and privilege evaluation, expiration parsing, and the key
// secret format and hashing.
//
// Invariants:
//   - no I/O and no randomness: this package imports only the standard
//     library's computation packages and x/text's normalization (a test
//     enforces it), so every decision can be tested without a server; the
//     clock, ids and secrets are passed in;
//   - events are plain structs with a stable type name and a schema version;
//     a released version never changes meaning, a new version is added and
//     old ones are upcast when read;
//   - encoding/json is the reference for reading events (Event.Decode): the
//     reader built for replays (package eventcodec) takes only the shapes
//     keyplane writes and hands anything else to encoding/json, and a fuzz
//     test checks that both always agree;
//   - a key's secret never enters an event: only its SHA-256 hash does;
//   - every id is typed (TenantID, ProjectID, KeyID) so a tenant cannot be
//     confused with a project by accident.
package domain
