// Package notifier tells people before their API keys expire, as Elastic
// Cloud does: the key's creator and the organization's operational contacts
// get an email when the key enters each notice window (by default 30, 7 and
// 1 days before expiry), and the expiry itself is recorded in the key's
// history.
//
// It has two halves that share nothing but the log:
//
//   - the scan, run by a robfig/cron schedule on every replica, reads the
//     expiry schedule projection for what fell due (its cost follows the keys
//     due, not the number of keys) and appends one ExpiryNoticeRecorded per
//     (key, window, expiry) to the notice's own subject with expected
//     sequence 0, and one KeyExpired per expiry to the key's subject with the
//     key's expected sequence. Create-if-absent is what makes a notice exist
//     once however many replicas, scans or restarts there are; the events'
//     ids are derived from the same names, so a retried publish is
//     deduplicated too.
//
//   - the delivery worker reads notices from a durable JetStream consumer
//     shared by every replica (each notice goes to one of them) and sends one
//     email per recipient over SMTP with go-mail, with a Message-ID derived
//     from (notice, recipient). Each acceptance by the mail server is a
//     NoticeDelivered event, appended with the notice's expected sequence, and
//     a redelivered notice skips recipients already settled. Failures are
//     retried with exponential backoff through the consumer's redelivery;
//     after MaxAttempts the remaining recipients get NoticeFailed. A notice
//     whose key was revoked or got another expiration before it was sent is
//     NoticeCanceled instead. Sending is at least once: a crash between the
//     mail server's acceptance and the event resends that one email, with
//     the same Message-ID.
//
// Without an SMTP server the worker does not start: notices are recorded
// and logged, and wait in the durable consumer (on the NATS server, so
// across restarts of every replica) until a replica with --smtp-addr runs.
package notifier
