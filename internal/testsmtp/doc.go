// Package testsmtp is a real SMTP server (emersion/go-smtp) on loopback
// for the tests of several packages (notifier, clustertest), so that each
// asserts on what keyplane mailed and not on a copy of the server.
//
// It records every mail it accepts (envelope, headers, decoded text and
// HTML parts, raw bytes), can require AUTH PLAIN, can refuse chosen
// recipients with a permanent error, and can be stopped and started again
// on the same address to play a mail server that is down for a while.
package testsmtp
