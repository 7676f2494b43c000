package mobileclient

import (
	"fmt"
	"testing"
	"time"
)

func TestEveryDocumentedCodeHasAMessage(t *testing.T) {
	for _, code := range []string{CodeMalformed, CodeEnrollmentInvalid, CodeRateLimited, CodeUnauthenticated,
		CodeNotFound, CodeAlreadyAnswered, CodeExpired, CodeWrongNumber, CodeKeyIDTaken, CodeTooLarge, CodeInternal,
		CodeStale, CodeNotEnabled, CodeNotAllowed, CodeDirectoryUnavailable, CodeBusy} {
		e := &APIError{Status: 400, Code: code, ServerMessage: "server text"}
		if messages[code] == "" || e.Error() != messages[code] {
			t.Errorf("%s: message %q", code, e.Error())
		}
	}
	if got := (&APIError{Status: 422, Code: CodeWrongNumber}).Error(); got != "That number was wrong; the request was denied." {
		t.Errorf("wrong_number: %q", got)
	}
	if got := (&APIError{Status: 418, Code: "teapot", ServerMessage: "short and stout"}).Error(); got != "the server answered 418 teapot: short and stout" {
		t.Errorf("undocumented code: %q", got)
	}
	if got := (&APIError{Status: 502}).Error(); got != "the server answered 502 Bad Gateway" {
		t.Errorf("no body: %q", got)
	}
	if got := (&APIError{Status: 429, Code: CodeRateLimited, RetryAfter: 90 * time.Second}).Error(); got != "Too many attempts from this address; try again in 90 seconds." {
		t.Errorf("rate_limited with Retry-After: %q", got)
	}
	wrapped := fmt.Errorf("answer x: %w", &APIError{Status: 409, Code: CodeAlreadyAnswered})
	if Explain(wrapped) != messages[CodeAlreadyAnswered] || !HasCode(wrapped, CodeAlreadyAnswered) || HasCode(wrapped, CodeExpired) {
		t.Errorf("Explain/HasCode through wrapping: %q", Explain(wrapped))
	}
}
