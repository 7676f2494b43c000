package mobileclient

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The API's error codes (docs/mobile-api.md). They are stable; the server's
// messages are not.
const (
	CodeMalformed         = "malformed"
	CodeEnrollmentInvalid = "enrollment_invalid"
	CodeKeyIDTaken        = "key_id_taken"
	CodeTooLarge          = "too_large"
	CodeRateLimited       = "rate_limited"
	CodeUnauthenticated   = "unauthenticated"
	CodeNotFound          = "not_found"
	CodeAlreadyAnswered   = "already_answered"
	CodeExpired           = "expired"
	CodeWrongNumber       = "wrong_number"
	CodeInternal          = "internal"
	// Self-service (section 5).
	CodeStale                = "stale"
	CodeNotEnabled           = "not_enabled"
	CodeNotAllowed           = "not_allowed"
	CodeDirectoryUnavailable = "directory_unavailable"
	CodeBusy                 = "busy"
)

// messages are what a person reads for each documented code.
var messages = map[string]string{
	CodeMalformed:            "The server refused the request as malformed; this client may not match the server's version.",
	CodeEnrollmentInvalid:    "This enrollment link is unknown, expired (links last 10 minutes) or already used; open Settings → Add the authenticator app for a new one.",
	CodeKeyIDTaken:           "Another of your devices already uses this key id; run enroll again with the same link (it is still valid, and a new key id is picked each time).",
	CodeTooLarge:             "The request was larger than the server accepts (16 KiB).",
	CodeRateLimited:          "Too many attempts from this address; wait a few minutes and try again.",
	CodeUnauthenticated:      "The server did not accept this device's signature: the device was removed, or this computer's clock is more than 60 seconds off.",
	CodeNotFound:             "There is no such request for this device.",
	CodeAlreadyAnswered:      "This request was already answered.",
	CodeExpired:              "This request expired (requests last 2 minutes); start again in the browser.",
	CodeWrongNumber:          "That number was wrong; the request was denied.",
	CodeInternal:             "The server failed to handle the request; try again later.",
	CodeStale:                "That step was already answered or is out of date; nothing changed. Run the command again.",
	CodeNotEnabled:           "This server does not offer self-service from the app; use the self-service page in the browser.",
	CodeNotAllowed:           "Your organisation does not allow this from the app for your account, or your self-service is suspended; contact the help desk.",
	CodeDirectoryUnavailable: "The directory cannot be reached right now; try again later.",
	CodeBusy:                 "The server is busy; try again in a moment.",
}

// APIError is an error answer of the API.
type APIError struct {
	Status int
	// Code is the error code ("" when the body was not the documented
	// error object).
	Code string
	// ServerMessage is the server's English text, for logs.
	ServerMessage string
	// RetryAfter is the Retry-After of a 429 (0 when absent).
	RetryAfter time.Duration
}

// Error returns the message for the code, or a description of the
// undocumented answer.
func (e *APIError) Error() string {
	if e.Code == CodeRateLimited && e.RetryAfter > 0 {
		return fmt.Sprintf("Too many attempts from this address; try again in %d seconds.", int(e.RetryAfter.Seconds()))
	}
	if m, ok := messages[e.Code]; ok {
		return m
	}
	if e.Code != "" {
		return fmt.Sprintf("the server answered %d %s: %s", e.Status, e.Code, e.ServerMessage)
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// HasCode reports whether err is an APIError with the given code.
func HasCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// Explain returns what to show a person for err: the message of the API
// error in its chain when there is one (the documented codes have messages
// that say what happened and what to do), else err's own text.
func Explain(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}
