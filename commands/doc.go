// Package commands is the one command layer: every command of every
// aggregate (keys, organizations, projects, contacts, members and
// invitations, users, passwords and sessions, the projects' realms, expiry
// notices and expiries) is appended here, and nowhere else.
//
// A command runs one path (change, command.go): read the aggregate from
// the local projections (never from the stream on the request path),
// decide with the pure functions of domain, append with the aggregate's
// expected sequence, and on a conflict catch the projections up and decide
// again; it answers once the local projections hold the result
// (read-your-writes). A first event is appended create-if-absent (expected
// sequence 0) instead. Several events of one command go to the log as one
// atomic batch: all or none.
//
// The log is an eventlog.Store; the clock and the source of ids and
// secrets (Source) are passed to the constructors, and nothing is set
// after them.
package commands
