package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/domain"
)

// MaxBody is the largest request body accepted.
const MaxBody = domain.MaxBodyBytes

// ReadBody reads the request body, refusing one over MaxBody (413) and one
// that nests deeper than the limits (domain.CheckBodyDepth): both before
// anything decodes it.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, domain.Invalid("could not read the request body")
	}
	if len(body) > MaxBody {
		return nil, &domain.Error{Kind: domain.KindTooLarge, Reason: "request body is larger than the limit of 1048576 bytes (1 MiB)"}
	}
	if err := domain.CheckBodyDepth(body); err != nil {
		return nil, err
	}
	return body, nil
}

// millisOrNil is t in Unix milliseconds, nil for the zero time (a key that
// never expires, or was never invalidated).
func millisOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// DecodeBody reads a JSON object into v strictly: unknown fields, trailing
// data and oversize bodies are client errors. An empty body leaves v as is
// when optional.
func DecodeBody(r *http.Request, v any, optional bool) error {
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return domain.Invalid("request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return domain.Invalid("failed to parse request body: %s", domain.JSONReason(err))
	}
	if dec.More() {
		return domain.Invalid("failed to parse request body: unexpected data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return domain.Invalid("failed to parse request body: unexpected data after the JSON object")
	}
	return nil
}
