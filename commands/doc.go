// Package commands runs the key commands: read the aggregate from the local
// projections (never from the stream on the request path), decide with the
// pure functions of domain, append with the aggregate's expected sequence,
// retry on conflict, and answer once the local projections have applied the
// result (read-your-writes).
package commands
