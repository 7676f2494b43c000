package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "X-Latchkey-Signature"

// WebhookBody is the JSON a WebhookSender POSTs.
type WebhookBody struct {
	Tenant string `json:"tenant"`
	To     string `json:"to"`   // E.164 number
	Text   string `json:"text"` // the SMS text
	// ID is the outbox message id: a receiver that sees the same id twice
	// (a redelivery after a crash) should send only once.
	ID string `json:"id"`
}

// WebhookSender is an SMSSender for a customer's own SMS gateway: it POSTs
// a WebhookBody as JSON to URL, signed with Key in the header
//
//	X-Latchkey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(Key, t + "." + body)>
//
// The receiver recomputes the HMAC over the timestamp, a dot and the raw body
// exactly as received, compares in constant time and rejects timestamps too
// far from its clock (VerifyWebhookSignature does all of it). Any 2xx answer
// means accepted; 4xx other than 408 and 429 is Permanent, the rest retried.
type WebhookSender struct {
	URL        string
	Key        []byte
	HTTPClient *http.Client     // nil: http.DefaultClient
	Now        func() time.Time // signature timestamp clock (nil: time.Now)
}

// SendSMS posts the message. The body's id is MessageIDFromContext(ctx), or
// a random one outside the worker.
func (s *WebhookSender) SendSMS(ctx context.Context, tenant tenants.ID, to, text string) error {
	if s.URL == "" || len(s.Key) == 0 {
		return Permanent(errors.New("notify: webhook: URL and key are required"))
	}
	id := MessageIDFromContext(ctx)
	if id == "" {
		u, err := uuid.NewRandomFromReader(rand.Reader)
		if err != nil {
			return fmt.Errorf("notify: webhook: id: %w", err)
		}
		id = u.String()
	}
	body, err := json.Marshal(WebhookBody{Tenant: string(tenant), To: to, Text: text, ID: id})
	if err != nil {
		return Permanent(fmt.Errorf("notify: webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("notify: webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, SignWebhook(s.Key, clock(s.Now)(), body))
	resp, err := httpClient(s.HTTPClient).Do(req)
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return classifyHTTP(fmt.Errorf("notify: webhook: status %d", resp.StatusCode), resp.StatusCode)
}

// SignWebhook returns the X-Latchkey-Signature value for body sent at t.
func SignWebhook(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(key, ts, body))
}

func webhookMAC(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrBadSignature is returned (wrapped) by VerifyWebhookSignature.
var ErrBadSignature = errors.New("notify: bad webhook signature")

// VerifyWebhookSignature checks header (the X-Latchkey-Signature value)
// against body with key, and that its timestamp is within tolerance of now.
// It is what a webhook receiver runs (written in Go; other languages follow
// the same steps, see WebhookSender).
func VerifyWebhookSignature(key []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no valid timestamp", ErrBadSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: no valid v1 signature", ErrBadSignature)
	}
	if !hmac.Equal(got, webhookMAC(key, ts, body)) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s off by %s", ErrBadSignature, ts, d)
	}
	return nil
}
