package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// errorBody is Elasticsearch's error shape.
type errorBody struct {
	Error  errorDetail `json:"error"`
	Status int         `json:"status"`
}

type errorDetail struct {
	RootCause []errorCause `json:"root_cause"`
	Type      string       `json:"type"`
	Reason    string       `json:"reason"`
}

type errorCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// StatusOf maps an error kind to its HTTP status and Elasticsearch type.
// This is the only place that does.
func StatusOf(k domain.Kind) (int, string) {
	switch k {
	case domain.KindInvalid:
		return http.StatusBadRequest, "action_request_validation_exception"
	case domain.KindTooLarge:
		return http.StatusRequestEntityTooLarge, "content_too_long_exception"
	case domain.KindUnauthenticated:
		return http.StatusUnauthorized, "security_exception"
	case domain.KindForbidden:
		return http.StatusForbidden, "security_exception"
	case domain.KindNotFound:
		return http.StatusNotFound, "resource_not_found_exception"
	case domain.KindConflict:
		return http.StatusConflict, "version_conflict_engine_exception"
	case domain.KindUnavailable:
		return http.StatusServiceUnavailable, "unavailable_exception"
	case domain.KindThrottled:
		return http.StatusTooManyRequests, "too_many_requests_exception"
	}
	return http.StatusInternalServerError, "exception"
}

// retryAfterSeconds is the error's own retry delay, rounded up to whole
// seconds, or one second.
func retryAfterSeconds(err error) int {
	var e *domain.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return 1
}

func WriteErrorBody(w http.ResponseWriter, status int, typ, reason string) {
	WriteJSON(w, status, errorBody{Error: errorDetail{RootCause: []errorCause{{typ, reason}}, Type: typ, Reason: reason}, Status: status})
}

// JSONContentType is shared by every JSON answer: assigning it skips the
// header's canonicalization and an allocation on every request. Nothing
// appends to a response's Content-Type, and a one-element slice is copied
// by append anyway.
var JSONContentType = []string{"application/json; charset=UTF-8"}

func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = JSONContentType
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// scriptRequest reports a fetch from a page's script (Sec-Fetch-Dest:
// empty). Its 401 must not carry a Basic challenge, or the browser would
// pop up its own password dialog over the console when a session ends.
func scriptRequest(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Dest") == "empty"
}

// WriteError answers err. Internal errors are logged with their cause and
// answered without it.
func WriteError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	k := domain.KindOf(err)
	status, typ := StatusOf(k)
	if t := domain.TypeOf(err); t != "" {
		typ = t
	}
	errorHeaders(log, w, r, err, k, !scriptRequest(r))
	WriteErrorBody(w, status, typ, domain.ReasonOf(err))
}

// errorHeaders is what every error answer does before its body, whatever
// its shape: an internal or unavailable error logged with its cause, the
// authentication challenge (when challenge) and Retry-After.
func errorHeaders(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error, k domain.Kind, challenge bool) {
	if k == domain.KindInternal || k == domain.KindUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err,
			"request_id", w.Header().Get("X-Request-Id"))
	}
	if k == domain.KindUnauthenticated && challenge {
		w.Header().Set("WWW-Authenticate", `ApiKey, Basic realm="keyplane", charset="UTF-8"`)
	}
	if k == domain.KindUnavailable || k == domain.KindThrottled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
}

// cloudErrors is Elastic Cloud's error shape: {"errors":[{"code","message"}]}.
type cloudErrors struct {
	Errors []cloudError `json:"errors"`
}

type cloudError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CloudCodeOf is Elastic Cloud's error code for an error kind, on its API
// keys API (the codes its clients know): the status is StatusOf's.
func CloudCodeOf(k domain.Kind) string {
	switch k {
	case domain.KindInvalid, domain.KindTooLarge:
		return "api_keys.invalid_input"
	case domain.KindUnauthenticated:
		return "root.unauthenticated"
	case domain.KindForbidden:
		return "root.unauthorized"
	case domain.KindNotFound:
		return "api_keys.key_not_found"
	case domain.KindConflict:
		return "api_keys.conflict"
	case domain.KindUnavailable:
		return "root.unavailable"
	case domain.KindThrottled:
		return "root.too_many_requests"
	}
	return "root.unexpected_error"
}

// WriteCloudError answers err in Elastic Cloud's shape, with the status
// and headers WriteError gives it; the code is also in
// X-Cloud-Error-Codes, as Elastic Cloud sends it.
func WriteCloudError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	k := domain.KindOf(err)
	status, _ := StatusOf(k)
	errorHeaders(log, w, r, err, k, true)
	WriteCloudErrorBody(w, status, CloudCodeOf(k), domain.ReasonOf(err))
}

// WriteCloudErrorBody answers one error in Elastic Cloud's shape.
func WriteCloudErrorBody(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("X-Cloud-Error-Codes", code)
	WriteJSON(w, status, cloudErrors{Errors: []cloudError{{Code: code, Message: message}}})
}
