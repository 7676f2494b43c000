package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/tenants"
)

// DefaultTwilioURL is Twilio's API base.
const DefaultTwilioURL = "https://api.twilio.com"

// maxResponse is how much of a provider's response body is read.
const maxResponse = 64 << 10

// TwilioSender is an SMSSender for Twilio's Programmable Messaging API: it
// POSTs the form To, From, Body to /2010-04-01/Accounts/{AccountSID}/Messages.json
// with HTTP Basic auth (AccountSID, AuthToken). Twilio answers 201 when it
// accepted the message. A 4xx answer other than 429 (invalid number,
// unauthorised, …) is Permanent; 429, 5xx and network errors are retried by
// the worker.
type TwilioSender struct {
	BaseURL    string // DefaultTwilioURL when empty
	AccountSID string
	AuthToken  string
	From       string // a Twilio number (E.164) or alphanumeric sender id
	// HTTPClient is the client (nil: http.DefaultClient); the worker's ctx
	// bounds each request.
	HTTPClient *http.Client
}

// SendSMS sends text to the E.164 number to.
func (s *TwilioSender) SendSMS(ctx context.Context, _ tenants.ID, to, text string) error {
	if s.AccountSID == "" || s.AuthToken == "" || s.From == "" {
		return Permanent(errors.New("notify: twilio: account SID, auth token and from are required"))
	}
	base := strings.TrimRight(s.BaseURL, "/")
	if base == "" {
		base = DefaultTwilioURL
	}
	endpoint := base + "/2010-04-01/Accounts/" + url.PathEscape(s.AccountSID) + "/Messages.json"
	form := url.Values{"To": {to}, "From": {s.From}, "Body": {text}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Permanent(fmt.Errorf("notify: twilio: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(s.AccountSID, s.AuthToken)
	resp, err := httpClient(s.HTTPClient).Do(req)
	if err != nil {
		return fmt.Errorf("notify: twilio: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var te struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &te)
	return classifyHTTP(fmt.Errorf("notify: twilio: status %d: error %d: %s", resp.StatusCode, te.Code, te.Message), resp.StatusCode)
}

func httpClient(c *http.Client) *http.Client {
	if c == nil {
		return http.DefaultClient
	}
	return c
}

// classifyHTTP marks err Permanent for a 4xx status other than 408 and 429.
func classifyHTTP(err error, status int) error {
	if status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
		return Permanent(err)
	}
	return err
}
