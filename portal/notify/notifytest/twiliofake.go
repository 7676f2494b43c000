package notifytest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/portal/notify"
)

// SMS is one message a TwilioFake accepted.
type SMS struct {
	SID, To, From, Body string
}

// TwilioFake is an HTTPS server speaking Twilio's Messages API
// (POST /2010-04-01/Accounts/{AccountSID}/Messages.json, form To/From/Body,
// HTTP Basic auth): 201 with the message JSON when everything checks out,
// Twilio-shaped error JSON otherwise (401 code 20003 for bad credentials, 400
// code 21211 for a To that is not E.164, 21603/21602 for a missing From or
// Body).
type TwilioFake struct {
	// AccountSID and AuthToken are the credentials it accepts (random).
	AccountSID, AuthToken string
	srv                   *httptest.Server
	msgs                  recorder[SMS]
	fail                  failer
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NewTwilioFake starts a fake with fresh credentials; it stops when tb ends.
func NewTwilioFake(tb testing.TB) *TwilioFake {
	tb.Helper()
	f := &TwilioFake{AccountSID: "AC" + randomHex(16), AuthToken: randomHex(16)}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// randomHex returns n random bytes in hex (crypto/rand.Read never fails).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// URL is the API base (TwilioSender.BaseURL).
func (f *TwilioFake) URL() string { return f.srv.URL }

// Client is an HTTP client that trusts the fake's certificate.
func (f *TwilioFake) Client() *http.Client { return f.srv.Client() }

// Sender returns a TwilioSender pointed at the fake, sending from from.
func (f *TwilioFake) Sender(from string) *notify.TwilioSender {
	return &notify.TwilioSender{BaseURL: f.URL(), AccountSID: f.AccountSID, AuthToken: f.AuthToken, From: from,
		HTTPClient: f.Client()}
}

// Messages returns what the fake accepted so far, in order.
func (f *TwilioFake) Messages() []SMS { return f.msgs.all() }

// WaitFor returns the first accepted SMS that matches, waiting until ctx ends.
func (f *TwilioFake) WaitFor(ctx context.Context, match func(SMS) bool) (SMS, error) {
	return f.msgs.waitFor(ctx, match)
}

// FailNext makes the next n well-formed requests fail with HTTP status
// (e.g. 503, 429, or 400 as for an invalid number).
func (f *TwilioFake) FailNext(n, status int) { f.fail.set(n, status) }

func (f *TwilioFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+f.AccountSID+"/Messages.json" {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(f.AccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(f.AuthToken)) != 1 {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		twilioError(w, http.StatusBadRequest, 20001, "Expected a form")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "Malformed form")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	switch {
	case !e164.MatchString(to):
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number is not a valid phone number.")
		return
	case from == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if status, ok := f.fail.take(); ok {
		code := 20500
		switch {
		case status == http.StatusTooManyRequests:
			code = 20429
		case status/100 == 4:
			code = 21211
		}
		twilioError(w, status, code, "simulated failure")
		return
	}
	sms := SMS{SID: "SM" + randomHex(16), To: to, From: from, Body: body}
	f.msgs.add(sms)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": sms.SID, "account_sid": f.AccountSID, "to": to, "from": from, "body": body,
		"status": "queued", "num_segments": "1", "api_version": "2010-04-01",
	})
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}
