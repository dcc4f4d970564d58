package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the closed set of error kinds; the HTTP layer maps each to one
// status and one Elasticsearch error type, in one place.
type Kind int

const (
	KindInternal        Kind = iota // a bug or an unexpected failure
	KindInvalid                     // bad input: 400
	KindUnauthenticated             // missing, wrong, expired or revoked credential: 401
	KindForbidden                   // authenticated but not allowed: 403
	KindNotFound                    // unknown, or another tenant's: 404
	KindConflict                    // concurrent change or duplicate: 409
	KindTooLarge                    // body over the limit: 413, as Elasticsearch
	KindUnavailable                 // the log cannot be reached: 503
	KindThrottled                   // too many failed attempts, retry later: 429
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindTooLarge:
		return "too_large"
	case KindUnavailable:
		return "unavailable"
	case KindThrottled:
		return "throttled"
	}
	return "internal"
}

// Error is keyplane's typed error. Reason is shown to the client, so it never
// holds key material; Err is the cause, kept for logs.
type Error struct {
	Kind   Kind
	Op     string
	Reason string
	Err    error
	// RetryAfter, when set, is how long the client should wait before
	// trying again (throttled or unavailable).
	RetryAfter time.Duration
	// Type, when set, is the Elasticsearch error type answered instead of
	// the kind's own (illegal_argument_exception, parsing_exception...),
	// where Elasticsearch answers the same status with another type.
	Type string
}

func (e *Error) Error() string {
	msg := e.Reason
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of kind k with a formatted reason.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// Invalid, NotFound, Forbidden and friends are shorthands for E.
func Invalid(format string, args ...any) *Error   { return E(KindInvalid, format, args...) }
func NotFound(format string, args ...any) *Error  { return E(KindNotFound, format, args...) }
func Forbidden(format string, args ...any) *Error { return E(KindForbidden, format, args...) }
func Conflict(format string, args ...any) *Error  { return E(KindConflict, format, args...) }
func Unauthenticated(format string, args ...any) *Error {
	return E(KindUnauthenticated, format, args...)
}

// ErrConflict is the sentinel for optimistic-concurrency failures in the log.
var ErrConflict = &Error{Kind: KindConflict, Reason: "concurrent modification, retry"}

// KindOf returns the kind of err, KindInternal for untyped errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// TypeOf returns the Elasticsearch error type err carries, "" for the
// kind's own.
func TypeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// IsKind reports whether err is a typed error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// ReasonOf returns the client-facing reason of err.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Reason != "" {
			return e.Reason
		}
	}
	if KindOf(err) == KindInternal {
		return "internal error"
	}
	return err.Error()
}
